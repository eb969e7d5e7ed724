"""radiomix.compat."""
