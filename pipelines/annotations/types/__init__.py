"""One module per annotation type or family of types; each defines the ``TypeCode`` its registry line names."""
