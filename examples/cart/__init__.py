"""A shopping cart: a typed category with an aggregate, beside an untyped audit trail."""
