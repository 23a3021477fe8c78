"""The stored CTCAE dictionary: versioned terms in the database, import and typeahead search."""
