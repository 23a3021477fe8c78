"""Six-minute walk test: reference equations for the distance and the derived test results."""
