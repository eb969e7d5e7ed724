"""radiomix.report."""
