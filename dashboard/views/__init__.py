"""The dashboard's request handlers, one module per kind of user."""
