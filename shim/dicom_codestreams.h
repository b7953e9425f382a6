// SPDX-License-Identifier: MIT
// Checks of encapsulated pixel data that GDCM 3.0's decoders trust (C++, inside the GDCM
// adapter only). GDCM sizes a frame's output from the attributes (Rows, Columns, Samples per
// Pixel, Bits Allocated) and then writes what the compressed stream itself declares: a stream
// that declares more writes past the buffer. Each check returns "" when GDCM may decode the
// pixel data, else why not (the text of the image's refusal).
#ifndef BMC_SHIM_DICOM_CODESTREAMS_H
#define BMC_SHIM_DICOM_CODESTREAMS_H

#include <gdcmDataSet.h>

#include <string>

#include "shim/dicom.h"

// RLE Lossless (PS3.5 G.5): each fragment's segment count and offsets, and that no segment's
// PackBits runs unpack to more than Rows x Columns bytes.
std::string bmci_rle_problem(const gdcm::DataSet &ds, const bmci_dicom_header *h);

// JPEG 2000 (PS3.5 A.4.4, ISO 15444-1 A.5.1): the SIZ marker of every code stream (raw, or
// inside a JP2 file's jp2c box) gives exactly Columns x Rows, Samples per Pixel components,
// no subsampling, and samples no wider than Bits Allocated.
std::string bmci_jpeg2000_problem(const gdcm::DataSet &ds, const bmci_dicom_header *h);

// JPEG (PS3.5 A.4.1-A.4.3): pixel data in fragments, none of which ends inside the header of an
// APPn, COM or DNL segment with a body still to come (GDCM's JPEG decoder never returns from
// it), and stream headers on which libjpeg gives no warning (GDCM asserts on any).
std::string bmci_jpeg_problem(const gdcm::DataSet &ds);

#endif
