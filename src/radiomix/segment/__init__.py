"""radiomix.segment."""
