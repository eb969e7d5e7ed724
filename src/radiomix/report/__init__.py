"""radiomix.report: the study report (one self-contained HTML file) and its sections and figures.

``write_report(run_dir, out)`` writes it; ``radiomix.report.sections`` gives each section as an HTML fragment and its
figures as matplotlib figures (for notebooks); plotting lives here and nowhere else in radiomix.
"""

from radiomix.report.html import build_report, build_sections, write_report

__all__ = ["build_report", "build_sections", "write_report"]
