"""A key column with empty cells (no ROI on NIfTI rows beside DICOM rows) gives stable row ids, not a crash."""

import numpy as np
import pandas as pd

from radiomix.batch.manifest import load_manifest


def test_empty_cells_in_key_columns(tmp_path):
    pd.DataFrame({"case_id": ["a", "b"], "image": ["x.nii.gz", "y.nii.gz"], "mask": ["m.nii.gz", "n.nii.gz"],
                  "roi": [np.nan, "GTV"]}).to_csv(tmp_path / "m.csv", index=False)
    df = load_manifest(tmp_path / "m.csv")
    assert df["row_id"].is_unique
    assert df["row_id"].iloc[0].startswith("a_-") and "nan" not in df["row_id"].iloc[0]
    assert df["row_id"].iloc[1].startswith("b_GTV-")
