#!/usr/bin/python3
"""Renders pydicom's CT and MR test slices to PNG through the library's DICOM display pipeline.

    /usr/bin/python3 tools/render_dicom_samples.py OUTDIR

Uses the Python binding (bindings/python; the library from BIOMEDCLIP_LIBRARY, else
$BUILD/libbiomedclip.so of this checkout with BUILD defaulting to "build", else the binding's
own search): the stored pixels of each slice go to bmc_image_from_pixels() with the dataset's
rescale slope/intercept and window, the 8-bit result comes back with bmc_image_to_rgb8() and is
written with bmc_png_write_file(). Writes, printing one line per file:

  ct_small.png               CT_small.dcm with its own parameters (rescale; it has no window,
                             so its full range is stretched)
  ct_small_soft_tissue.png   the same slice in a soft-tissue window (centre 40 HU, width 400)
  ct_small_bone.png          ... in a bone window (centre 500 HU, width 2000)
  mr_small.png               MR_small.dcm with its own window
"""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# (output file, pydicom test file, window to use instead of the dataset's, what it shows)
SAMPLES = [
    ("ct_small.png", "CT_small.dcm", None, "the dataset's own parameters"),
    ("ct_small_soft_tissue.png", "CT_small.dcm", (40.0, 400.0), "soft-tissue window 40/400"),
    ("ct_small_bone.png", "CT_small.dcm", (500.0, 2000.0), "bone window 500/2000"),
    ("mr_small.png", "MR_small.dcm", None, "the dataset's own parameters"),
]


def _import_binding():
    """The biomedclip package: installed, or this checkout's bindings/python with its library."""
    if "BIOMEDCLIP_LIBRARY" not in os.environ:
        built = os.path.join(ROOT, os.environ.get("BUILD", "build"), "libbiomedclip.so")
        if os.path.exists(built):
            os.environ["BIOMEDCLIP_LIBRARY"] = built
    try:
        import biomedclip.dicom
    except ImportError:
        sys.path.insert(0, os.path.join(ROOT, "bindings", "python"))
        import biomedclip.dicom
    return biomedclip


def describe(rescale, window) -> str:
    parts = []
    if rescale:
        parts.append("rescale %g*x%+g" % rescale)
    parts.append("window %g/%g" % window if window else "full range")
    return ", ".join(parts)


def main(argv) -> int:
    if len(argv) != 2:
        print(__doc__.split("\n\n")[1].strip(), file=sys.stderr)
        return 2
    out = argv[1]
    biomedclip = _import_binding()
    import pydicom
    from pydicom.data import get_testdata_file

    os.makedirs(out, exist_ok=True)
    for name, source, window, what in SAMPLES:
        dataset = pydicom.dcmread(get_testdata_file(source))
        rescale, used_window, _ = biomedclip.dicom.display_parameters(dataset, window)
        path = os.path.join(out, name)
        with biomedclip.dicom.image_from_dataset(dataset, window=window) as image:
            image.save_png(path)
            width, height = image.size
        print("%s: %s %s %dx%d, %s (%s)" % (path, source, dataset.get("Modality", "?"), width,
                                            height, describe(rescale, used_window), what))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
