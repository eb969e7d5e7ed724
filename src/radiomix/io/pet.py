"""PET standardised uptake values (SUV) from DICOM headers.

SUV = activity concentration (Bq/ml) x normaliser (g, or cm2 for BSA) / injected activity decay-corrected to the
time the image is decay-corrected to (Bq). With DecayCorrection START the image is corrected to the series start
(SeriesDate/SeriesTime), so the injected dose is decayed from RadiopharmaceuticalStart(Date)Time to then:

    dose_at_scan = RadionuclideTotalDose * 2 ** (-(t_series - t_injection) / RadionuclideHalfLife)

With DecayCorrection ADMIN the image is already corrected to the injection time and the dose is used as is.

Variants (``suv``): ``"bw"`` body weight (PatientWeight kg -> g), ``"bsa"`` body surface area (Du Bois, cm2,
needs PatientSize), ``"lbm"`` lean body mass (James, g, needs PatientSize and PatientSex). A PET whose Units are
GML is already SUV (body weight) and is never converted twice; CNTS and other units are refused.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
from pydicom.dataset import Dataset

from radiomix.errors import InputError
from radiomix.image import Image

SUV_VARIANTS = ("bw", "bsa", "lbm")


def _parse_dt(date: str | None, time: str | None) -> dt.datetime | None:
    if not date or not time:
        return None
    time = str(time).strip()
    hh, mm, ss = int(time[0:2]), int(time[2:4] or 0), float(time[4:] or 0) if len(time) > 4 else 0.0
    d = dt.datetime.strptime(str(date).strip()[:8], "%Y%m%d")
    return d + dt.timedelta(hours=hh, minutes=mm, seconds=ss)


def _parse_datetime(value: str) -> dt.datetime:
    v = str(value).strip()
    v = v.split("+")[0].split("-")[0] if len(v) > 14 else v  # drop a UTC offset
    return _parse_dt(v[:8], v[8:] or "000000")


def suv_factor(ds: Dataset, suv: str = "bw", *, source: str = "PET") -> float:
    """The factor that turns Bq/ml into SUV for the header ``ds``; an error lists every missing header."""
    suv = suv.lower()
    if suv not in SUV_VARIANTS:
        raise InputError(f"unknown SUV variant '{suv}'; choose one of {', '.join(SUV_VARIANTS)}")
    units = str(ds.get("Units", "") or "").upper()
    if units != "BQML":
        raise InputError(f"{source}: PET Units are '{units or 'missing'}'; SUV conversion needs BQML (activity "
                         "concentration)")
    missing = []
    rp = ds.get("RadiopharmaceuticalInformationSequence")
    rp = rp[0] if rp else Dataset()
    dose = rp.get("RadionuclideTotalDose")
    half = rp.get("RadionuclideHalfLife")
    if dose in (None, ""):
        missing.append("RadionuclideTotalDose (0018,1074)")
    if half in (None, ""):
        missing.append("RadionuclideHalfLife (0018,1075)")
    weight = ds.get("PatientWeight")
    if weight in (None, "") or float(weight) <= 0:
        missing.append("PatientWeight (0010,1030)")
    height = ds.get("PatientSize")
    if suv in ("bsa", "lbm") and (height in (None, "") or float(height) <= 0):
        missing.append("PatientSize (0010,1020)")
    sex = str(ds.get("PatientSex", "") or "").upper()
    if suv == "lbm" and sex not in ("M", "F"):
        missing.append("PatientSex (0010,0040) as M or F")
    decay = str(ds.get("DecayCorrection", "") or "").upper()
    if decay not in ("START", "ADMIN"):
        missing.append(f"DecayCorrection (0054,1102) START or ADMIN (got '{decay or 'missing'}')")
    t_inj = t_ref = None
    if decay == "START":
        if rp.get("RadiopharmaceuticalStartDateTime"):
            t_inj = _parse_datetime(rp.RadiopharmaceuticalStartDateTime)
        else:
            t_inj = _parse_dt(ds.get("SeriesDate") or ds.get("StudyDate") or ds.get("AcquisitionDate"),
                              rp.get("RadiopharmaceuticalStartTime"))
        if t_inj is None:
            missing.append("RadiopharmaceuticalStartDateTime (0018,1078) or RadiopharmaceuticalStartTime (0018,1072)"
                           " with a SeriesDate")
        t_ref = _parse_dt(ds.get("SeriesDate") or ds.get("AcquisitionDate"),
                          ds.get("SeriesTime") or ds.get("AcquisitionTime"))
        if t_ref is None:
            missing.append("SeriesDate/SeriesTime (0008,0021/0031)")
    if missing:
        raise InputError(f"{source}: cannot compute SUV{suv}: missing or unusable header(s): " + "; ".join(missing))
    dose, half, weight = float(dose), float(half), float(weight)
    if dose <= 0 or half <= 0:
        raise InputError(f"{source}: RadionuclideTotalDose {dose} Bq and RadionuclideHalfLife {half} s must be > 0")
    if decay == "START":
        elapsed = (t_ref - t_inj).total_seconds()
        if elapsed < 0:
            raise InputError(f"{source}: the series starts {-elapsed:.0f} s before the injection "
                             f"({t_ref.isoformat()} vs {t_inj.isoformat()}); check the times (midnight crossing?)")
        dose = dose * 2.0 ** (-elapsed / half)
    if suv == "bw":
        norm = weight * 1000.0
    elif suv == "bsa":
        h_cm = float(height) * 100.0
        norm = 0.007184 * weight ** 0.425 * h_cm ** 0.725 * 1.0e4  # Du Bois, m2 -> cm2
    else:
        h_cm = float(height) * 100.0
        a, b = (1.10, 128.0) if sex == "M" else (1.07, 148.0)
        lbm = a * weight - b * (weight / h_cm) ** 2
        norm = lbm * 1000.0
    return norm / dose


def convert_pet(image: Image, ds: Dataset, suv: str | None = "bw", *, source: str = "PET") -> Image:
    """The PET ``image`` (rescaled stored values) in SUV, or as stored with ``suv=None``. Units GML: already SUV."""
    units = str(ds.get("Units", "") or "").upper()
    meta = dict(image.meta)
    arr = image.array
    if units == "GML":
        if suv not in (None, "bw"):
            raise InputError(f"{source}: the PET is stored as SUV body weight (Units GML); it cannot be turned "
                             f"into SUV{suv} without the original activity concentration")
        meta.update(units="SUVbw", suv_variant="bw", suv_factor=1.0, suv_converted_by="scanner (Units GML)")
    elif suv is None:
        meta.update(units=units or "unknown")
    else:
        f = suv_factor(ds, suv, source=source)
        arr = arr.astype(np.float64) * f
        meta.update(units=f"SUV{suv}", suv_variant=suv, suv_factor=f, suv_converted_by="radiomix")
    return Image(np.asarray(arr, dtype=np.float32), image.geometry, image.source, meta)
