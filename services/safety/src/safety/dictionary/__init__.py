"""The CTCAE dictionary: versioned terms with their grade text, imported from NCI's files."""
