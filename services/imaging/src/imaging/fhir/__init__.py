"""FHIR R4 Observations from hospital systems: lung function, blood gas and walk test results."""
