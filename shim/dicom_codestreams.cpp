// SPDX-License-Identifier: MIT
// Checks of encapsulated pixel data before GDCM decodes it (see dicom_codestreams.h). Each
// was found by fuzz_dicom: writes past GDCM's output buffer, reads past a fragment, a hang.
#include "shim/dicom_codestreams.h"

#include <gdcmSequenceOfFragments.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>

namespace {

const gdcm::SequenceOfFragments *pixel_fragments(const gdcm::DataSet &ds)
{
    return ds.GetDataElement(gdcm::Tag(0x7fe0, 0x0010)).GetSequenceOfFragments();
}

std::string hex_byte(unsigned value)
{
    char text[4];
    snprintf(text, sizeof text, "%02X", value & 0xff);
    return text;
}

uint32_t big_endian(const unsigned char *p, int bytes)
{
    uint32_t value = 0;
    for (int i = 0; i < bytes; i++)
        value = value << 8 | p[i];
    return value;
}

// The first `limit` bytes of the stream that starts at fragment `first`: a frame's stream may
// go on in the fragments after it.
std::string stream_head(const gdcm::SequenceOfFragments *fragments, size_t first, size_t limit)
{
    std::string head;
    for (size_t f = first; f < fragments->GetNumberOfFragments() && head.size() < limit; f++) {
        const gdcm::ByteValue *bv = fragments->GetFragment(f).GetByteValue();
        if (bv && bv->GetPointer())
            head.append(bv->GetPointer(), std::min<size_t>(bv->GetLength(), limit - head.size()));
    }
    return head;
}

const unsigned char jp2_signature[12] = {0, 0, 0, 12, 'j', 'P', ' ', ' ', 0x0d, 0x0a, 0x87, 0x0a};
// How far into a JP2 file its code stream must start: room for the header boxes encoders
// write before it (signature, ftyp, jp2h with its colour specification, an XML box or two).
const size_t jp2_header_limit = 64 * 1024;

// Offset of the code stream inside a JP2 file (ISO 15444-1 I.4: boxes of length, type and
// contents, the code stream in the "jp2c" box), or std::string::npos.
size_t jp2_codestream(const std::string &head)
{
    const unsigned char *p = (const unsigned char *)head.data();
    size_t at = 0;
    while (at + 8 <= head.size()) {
        uint64_t length = big_endian(p + at, 4);
        size_t header = 8;
        if (length == 1) {  // a 64-bit length follows the type
            if (at + 16 > head.size())
                return std::string::npos;
            length = (uint64_t)big_endian(p + at + 8, 4) << 32 | big_endian(p + at + 12, 4);
            header = 16;
        }
        if (memcmp(p + at + 4, "jp2c", 4) == 0)
            return at + header;
        if (length < header || length > head.size() - at)
            return std::string::npos;
        at += (size_t)length;
    }
    return std::string::npos;
}

std::string siz_problem(const std::string &head, size_t at, const bmci_dicom_header *h)
{
    const unsigned char *p = (const unsigned char *)head.data() + at;
    const size_t have = head.size() - at;
    // SOC, then SIZ: Lsiz Rsiz Xsiz Ysiz XOsiz YOsiz XTsiz YTsiz XTOsiz YTOsiz Csiz, then
    // Ssiz XRsiz YRsiz per component.
    if (have < 42 || big_endian(p, 2) != 0xff4f || big_endian(p + 2, 2) != 0xff51)
        return "a JPEG 2000 code stream without its SIZ marker";
    const uint32_t csiz = big_endian(p + 40, 2);
    if (big_endian(p + 4, 2) != 38 + 3 * csiz || have < 42 + 3 * (size_t)csiz)
        return "a JPEG 2000 code stream with a damaged SIZ marker";
    const uint32_t x = big_endian(p + 8, 4), y = big_endian(p + 12, 4);
    const uint32_t x0 = big_endian(p + 16, 4), y0 = big_endian(p + 20, 4);
    if (x0 >= x || y0 >= y)
        return "a JPEG 2000 code stream with an empty image area";
    const uint32_t width = x - x0, height = y - y0;
    if (width != (uint32_t)h->columns || height != (uint32_t)h->rows)
        return "a JPEG 2000 code stream of " + std::to_string(width) + "x" + std::to_string(height) +
               " where Columns x Rows are " + std::to_string(h->columns) + "x" + std::to_string(h->rows);
    if (csiz != (uint32_t)h->samples_per_pixel)
        return "a JPEG 2000 code stream of " + std::to_string(csiz) + " components where Samples "
               "per Pixel is " + std::to_string(h->samples_per_pixel);
    for (uint32_t c = 0; c < csiz; c++) {
        const unsigned char *component = p + 42 + 3 * c;
        if (component[1] != 1 || component[2] != 1)
            return "a JPEG 2000 code stream with subsampled components";
        const int precision = (component[0] & 0x7f) + 1;
        const int bytes = precision <= 8 ? 1 : precision <= 16 ? 2 : 4;  // as GDCM writes them
        if (bytes * 8 > h->bits_allocated)
            return "a JPEG 2000 code stream of " + std::to_string(precision) + "-bit samples where "
                   "Bits Allocated is " + std::to_string(h->bits_allocated);
    }
    return "";
}

// GDCM 3.0 walks a code stream's markers itself for its lossless flag (JPEG2000Codec's
// GetHeaderInfo, after OpenJPEG has read the main header) and trusts every marker segment's
// length: one longer than what is left of the fragment sends it reading far past the buffer
// (a SEGV the fuzzer found). Its walk is repeated here, as GDCM's does it: marker by marker
// from the fragment's start, past a COD of the reversible transform, until Start of Data, a
// COD of the irreversible one, or a value it gives up on.
std::string marker_walk_problem(const unsigned char *p, size_t size)
{
    size_t at = 0;
    while (size - at >= 2) {
        const uint32_t marker = big_endian(p + at, 2);
        at += 2;
        if (marker == 0xff93)  // SOD
            return "";
        if (marker == 0xff4f || marker == 0xff92 || marker == 0xffd9 || (marker >= 0xff30 && marker <= 0xff3f))
            continue;  // markers without a length
        if (size - at < 2)
            return "";
        const size_t length = big_endian(p + at, 2);
        if (length < 2)
            return "";
        if (marker == 0xff52) {  // COD: GDCM reads its transform bytes at 6 and 11
            if (size - at < 12)
                return "a JPEG 2000 code stream whose COD marker is cut off";
            if (p[at + 6] > 1 || p[at + 11] != 1)
                return "";
        }
        if (length > size - at)
            return "a JPEG 2000 marker segment of " + std::to_string(length) + " bytes where " +
                   std::to_string(size - at) + " remain in its fragment";
        at += length;
    }
    return "";
}

}  // namespace

std::string bmci_jpeg2000_problem(const gdcm::DataSet &ds, const bmci_dicom_header *h)
{
    const gdcm::SequenceOfFragments *fragments = pixel_fragments(ds);
    if (!fragments)
        return "JPEG 2000 pixel data that is not encapsulated";
    // GDCM decodes a frame from the start of a fragment (the first one, or one per frame): a
    // stream can only start where a fragment starts with SOC or the JP2 signature; other
    // fragments are the rest of a stream, and OpenJPEG refuses a stream starting otherwise.
    bool any = false;
    for (size_t f = 0; f < fragments->GetNumberOfFragments(); f++) {
        const gdcm::ByteValue *bv = fragments->GetFragment(f).GetByteValue();
        if (!bv || !bv->GetPointer() || bv->GetLength() < 2)
            continue;
        const unsigned char *p = (const unsigned char *)bv->GetPointer();
        const bool jp2 = bv->GetLength() >= sizeof jp2_signature &&
                         memcmp(p, jp2_signature, sizeof jp2_signature) == 0;
        if (!jp2 && !(p[0] == 0xff && p[1] == 0x4f))
            continue;
        any = true;
        std::string head = stream_head(fragments, f, jp2 ? jp2_header_limit : 4096);
        size_t at = jp2 ? jp2_codestream(head) : 0;
        if (at == std::string::npos)
            return "a JP2 file whose code stream box is not within its first 64 KiB";
        std::string problem = siz_problem(head, at, h);
        if (problem.empty() && at < bv->GetLength())
            problem = marker_walk_problem(p + at, bv->GetLength() - at);
        if (!problem.empty())
            return problem;
    }
    return any ? "" : "JPEG 2000 pixel data without a code stream";
}

// GDCM 3.0's RLE decoder trusts the segments' PackBits runs: a segment that unpacks to more
// than a plane writes out of bounds (the image reader decodes the first frame already).
std::string bmci_rle_problem(const gdcm::DataSet &ds, const bmci_dicom_header *h)
{
    const gdcm::SequenceOfFragments *fragments = pixel_fragments(ds);
    if (!fragments)
        return "RLE pixel data that is not encapsulated";
    const size_t plane = (size_t)h->rows * (size_t)h->columns;
    const unsigned segments_needed = (unsigned)(h->samples_per_pixel * ((h->bits_allocated + 7) / 8));
    for (size_t f = 0; f < fragments->GetNumberOfFragments(); f++) {
        const gdcm::ByteValue *bv = fragments->GetFragment(f).GetByteValue();
        if (!bv || !bv->GetPointer() || bv->GetLength() < 64)
            return "an RLE fragment shorter than its 64-byte header";
        const unsigned char *data = (const unsigned char *)bv->GetPointer();
        const size_t size = bv->GetLength();
        uint32_t header[16];
        memcpy(header, data, sizeof header);  // little endian, as the machines we build for
        uint32_t count = header[0];
        if (count < 1 || count > 15 || count != segments_needed)
            return "an RLE fragment of " + std::to_string(count) + " segments where " +
                   std::to_string(segments_needed) + " belong";
        for (uint32_t i = 0; i < count; i++) {
            size_t start = header[1 + i];
            size_t end = i + 1 < count ? header[2 + i] : size;
            if (start < 64 || start > end || end > size)
                return "an RLE fragment whose segment offsets are out of order or out of bounds";
            // Encoders pad segments to an even length, and a run cut off by the segment's end
            // only ends it early (GDCM's reads stay inside the fragment): what overflows is a
            // run that unpacks past the plane.
            size_t out = 0;
            for (size_t at = start; at < end && out < plane;) {
                int n = (signed char)data[at++];
                if (n >= 0) {
                    size_t run = std::min((size_t)n + 1, end - at);
                    at += run;
                    out += run;
                } else if (n != -128) {
                    if (at++ >= end)
                        break;
                    out += (size_t)(1 - n);
                }
            }
            if (out > plane)
                return "an RLE segment that unpacks to more than Rows x Columns bytes";
        }
    }
    return "";
}

namespace {

const size_t examined_appn_bytes = 14;  // libjpeg's APPN_DATA_LEN

// The segments whose body libjpeg skips rather than reads: APPn, COM and DNL.
bool body_skipped(unsigned marker)
{
    return (marker >= 0xe0 && marker <= 0xef) || marker == 0xfe || marker == 0xdc;
}

// GDCM 3.0's JPEG source manager (JPEGBITSCodec's skip_input_data) loops forever when libjpeg
// asks it to skip a marker segment's body at the very end of its stream: its fill_input_buffer
// answers "suspend" without adding a byte, and the skip loop waits for bytes that never come.
// libjpeg skips the bodies of APPn, COM and DNL segments, right after their marker and length,
// except APP0 and APP14, whose first 14 bytes it reads first. So a stream hangs when it ends
// exactly there. GDCM decodes fragment after fragment with one decoder (a frame may go on in
// the next fragment), so each fragment's end is tested over the bytes that lead up to it.
bool ends_inside_skipped_segment(const std::string &tail)
{
    const unsigned char *t = (const unsigned char *)tail.data();
    const size_t n = tail.size();
    if (n >= 4 && t[n - 4] == 0xff) {
        unsigned marker = t[n - 3], length = big_endian(t + n - 2, 2);
        if (body_skipped(marker) && marker != 0xe0 && marker != 0xee && length > 2)
            return true;
    }
    const size_t examined = 4 + examined_appn_bytes;
    if (n >= examined && t[n - examined] == 0xff &&
        (t[n - examined + 1] == 0xe0 || t[n - examined + 1] == 0xee))
        return big_endian(t + n - examined + 2, 2) > 2 + examined_appn_bytes;
    return false;
}

// GDCM's JPEG decoders, and the header reader the image reader calls on the first fragment,
// assert that libjpeg's jpeg_read_header gave no warning (bar the bit depth one, which sends
// them on to the 12- or 16-bit decoder). A header can give three: bytes other than a marker
// between two segments, a JFIF APP0 whose major version is not 1, and an Adobe APP14 colour
// transform that does not fit the frame's component count; and GDCM asserts that the error
// for a lossy frame's precision names one of its decoders'. The header of a stream that starts
// in this fragment is walked as libjpeg reads it, from SOI to its first SOS (a header that goes
// on in the next fragment is walked up to the fragment's end; GDCM reads the first fragment's
// header alone, so one whose skipped segment runs past it is refused).
std::string jpeg_header_problem(const unsigned char *p, size_t size)
{
    const size_t jfif_bytes = examined_appn_bytes, adobe_bytes = 12;  // APP0_DATA_LEN, APP14_DATA_LEN
    bool jfif = false, adobe = false, scan = false, lossless = false;
    unsigned transform = 0, components = 0, precision = 8;
    size_t at = 2;  // after SOI
    while (at < size && !scan) {
        if (p[at] != 0xff)
            return "bytes that are not a marker between two segments of a JPEG header (at byte " +
                   std::to_string(at) + " of its fragment)";
        while (at < size && p[at] == 0xff)
            at++;
        if (at == size)
            break;
        unsigned marker = p[at++];
        if (marker == 0x00)
            return "a stuffed byte between two segments of a JPEG header (at byte " + std::to_string(at - 2) +
                   " of its fragment)";
        if (marker == 0xd9)
            break;  // no image: libjpeg fails cleanly
        if (marker == 0x01 || (marker >= 0xd0 && marker <= 0xd7))
            continue;  // no length
        if (size - at < 2)
            break;
        size_t length = big_endian(p + at, 2), body = length >= 2 ? length - 2 : 0;
        const unsigned char *data = p + at + 2;
        size_t present = std::min(body, size - at - 2);
        // A skipped body longer than the fragment: GDCM's skip (see above) runs out of input
        // and goes on over the bytes still in its buffer, which libjpeg then reads again.
        if (body_skipped(marker) && present < body)
            return "a JPEG header segment (marker FF" + hex_byte(marker) + ") of " + std::to_string(length) +
                   " bytes where " + std::to_string(size - at) + " remain in its fragment";
        if (marker == 0xe0 && present >= jfif_bytes && memcmp(data, "JFIF", 5) == 0) {
            jfif = true;
            if (data[5] != 1)
                return "a JFIF segment of version " + std::to_string(data[5]) + "." + std::to_string(data[6]) +
                       " (GDCM's decoder asserts on libjpeg's warning)";
        }
        if (marker == 0xee && present >= adobe_bytes && memcmp(data, "Adobe", 5) == 0) {
            adobe = true;
            transform = data[11];
        }
        bool sof = marker >= 0xc0 && marker <= 0xcf && marker != 0xc4 && marker != 0xc8 && marker != 0xcc;
        if (sof && present >= 6) {
            precision = data[0];
            components = data[5];
            lossless = marker == 0xc3 || marker == 0xcb;
        }
        scan = marker == 0xda;
        at += 2 + body;
    }
    // A lossy frame's precision must be the decoder's: GDCM takes the one libjpeg reports and
    // asserts it is one of its decoders' (8, 12, 16) or 1.
    if (scan && !lossless && precision != 1 && precision != 8 && precision != 12 && precision != 16)
        return "a lossy JPEG frame of " + std::to_string(precision) + "-bit samples (GDCM's decoders take 8, 12 "
               "or 16)";
    if (scan && adobe && ((components == 3 && !jfif && transform > 1) ||
                          (components == 4 && transform != 0 && transform != 2)))
        return "an Adobe colour transform " + std::to_string(transform) + " for " + std::to_string(components) +
               " components (GDCM's decoder asserts on libjpeg's warning)";
    return "";
}

}  // namespace

std::string bmci_jpeg_problem(const gdcm::DataSet &ds)
{
    const gdcm::SequenceOfFragments *fragments = pixel_fragments(ds);
    if (!fragments)
        return "JPEG pixel data that is not encapsulated";
    const size_t keep = 4 + examined_appn_bytes;
    std::string tail;
    for (size_t f = 0; f < fragments->GetNumberOfFragments(); f++) {
        const gdcm::ByteValue *bv = fragments->GetFragment(f).GetByteValue();
        if (!bv || !bv->GetPointer() || bv->GetLength() == 0)
            continue;
        size_t length = bv->GetLength(), take = std::min(length, keep);
        const unsigned char *p = (const unsigned char *)bv->GetPointer();
        if (length >= 2 && p[0] == 0xff && p[1] == 0xd8) {
            std::string problem = jpeg_header_problem(p, length);
            if (!problem.empty())
                return "JPEG fragment " + std::to_string(f + 1) + ": " + problem;
        }
        tail.append(bv->GetPointer() + (length - take), take);
        if (tail.size() > keep)
            tail.erase(0, tail.size() - keep);
        if (ends_inside_skipped_segment(tail))
            return "JPEG fragment " + std::to_string(f + 1) + " ends inside the header of a marker "
                   "segment whose body is not there (GDCM's decoder would wait for it forever)";
    }
    return "";
}
