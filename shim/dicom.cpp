// SPDX-License-Identifier: MIT
// The GDCM adapter: parsing a DICOM file held in memory, reading the attributes of the image
// pixel, modality LUT and VOI LUT modules, and decoding the pixel data of every transfer
// syntax GDCM 3.0 reads. GDCM's image reader checks its input with assert() and abort() in
// places (Debian builds it with assertions on), so the data set is first parsed alone and
// the attributes the image reader trusts are validated here, with the failure as a status,
// before the image reader sees them.
#include <gdcmExplicitDataElement.h>
#include <gdcmExplicitImplicitDataElement.h>
#include <gdcmImage.h>
#include <gdcmImageApplyLookupTable.h>
#include <gdcmImageReader.h>
#include <gdcmImplicitDataElement.h>
#include <gdcmJPEGCodec.h>
#include <gdcmMediaStorage.h>
#include <gdcmReader.h>
#include <gdcmSequenceOfFragments.h>
#include <gdcmSequenceOfItems.h>
#include <gdcmTrace.h>
#include <gdcmTransferSyntax.h>
#include <gdcmVR.h>

#include <zlib.h>

#include <climits>
#include <csetjmp>
#include <csignal>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <new>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "shim/dicom.h"
#include "shim/dicom_codestreams.h"

namespace {

template <typename Body>
bmc_status guard(const char *what, Body &&body)
{
    try {
        return body();
    } catch (const std::bad_alloc &) {
        return bmci_fail(BMC_ERR_OUT_OF_MEMORY, "%s: out of memory", what);
    } catch (const std::exception &e) {
        return bmci_fail(BMC_ERR_CORRUPT_DATA, "%s: GDCM: %s", what, e.what());
    } catch (...) {
        return bmci_fail(BMC_ERR_INTERNAL, "%s: unknown C++ exception", what);
    }
}

// GDCM checks some of its input with assert() and abort() (Debian builds it with assertions
// on), also in its parser, where a damaged file can reach them. A thread inside a GDCM call
// has a place to jump back to: the SIGABRT handler returns there (glibc's abort() allows a
// handler that does not return), and the call fails with BMC_ERR_CORRUPT_DATA. What GDCM
// had allocated in that call is lost, and the assertion's text has gone to stderr. On other
// threads, and outside GDCM calls, SIGABRT keeps the action it had before.
thread_local sigjmp_buf *abort_target = nullptr;
struct sigaction previous_abort_action;

void on_abort(int signal)
{
    if (abort_target)
        siglongjmp(*abort_target, 1);
    sigaction(SIGABRT, &previous_abort_action, nullptr);
    raise(signal);
}

void catch_aborts()
{
    static std::once_flag once;
    std::call_once(once, [] {
        struct sigaction action;
        memset(&action, 0, sizeof action);
        action.sa_handler = on_abort;
        sigemptyset(&action.sa_mask);
        action.sa_flags = SA_NODEFER;
        sigaction(SIGABRT, &action, &previous_abort_action);
    });
}

// guard() with aborts caught. `cleanup` runs when GDCM aborted (e.g. to release a lock).
template <typename Body, typename Cleanup>
bmc_status guard_aborts(const char *what, Body &&body, Cleanup &&cleanup)
{
    catch_aborts();
    sigjmp_buf here;
    sigjmp_buf *outer = abort_target;
    if (sigsetjmp(here, 1)) {
        abort_target = outer;
        cleanup();
        return bmci_fail(BMC_ERR_CORRUPT_DATA, "%s: GDCM gave up on this input (one of its "
                         "internal checks failed)", what);
    }
    abort_target = &here;
    bmc_status status = guard(what, body);
    abort_target = outer;
    return status;
}

// GDCM reports through its own streams; the library never prints.
void silence_gdcm()
{
    static std::once_flag once;
    std::call_once(once, [] {
        gdcm::Trace::SetDebug(false);
        gdcm::Trace::SetWarning(false);
        gdcm::Trace::SetError(false);
    });
}

enum class Encoding { Explicit, Implicit, Mixed };  // Mixed: an explicit VR where one parses

// How GDCM is to read a data set, from the layout check.
struct Plan {
    bool preamble = false;   // the file starts with the 128-byte preamble and "DICM"
    bool deflated = false;   // a deflated data set: GDCM inflates it as it reads, in one pass
    Encoding encoding = Encoding::Explicit;
    bool big_endian = false;
};

// The image reader's ReadImage on a data set that was parsed and checked beforehand.
class CheckedImageReader : public gdcm::ImageReader {
public:
    // What Reader::Read does, in the one encoding the layout check walked. Reader::Read itself
    // retries other encodings when its first one fails to parse (16-bit VRs, explicit and
    // implicit elements mixed), and the retries read lengths the walk never checked: a
    // 294-byte file became a 1.3 GB allocation in its 16-bit VR retry. Without a preamble the
    // file meta group is optional, and GDCM reads what there is of it as it would (ReadCompat).
    bool parse(std::istream &is, const Plan &plan)
    {
        if (plan.deflated)
            return gdcm::Reader::Read();
        gdcm::File &file = GetFile();
        if (plan.preamble) {
            // No fallback to ReadCompat when this throws, as Reader::Read has: it reads the
            // meta group again as implicit VR, and a meta element with an unknown VR (which
            // the walk reads as UN) became a 4 GB length (an out-of-memory the fuzzer found).
            file.GetHeader().GetPreamble().Read(is);
            try {
                file.GetHeader().Read(is);
            } catch (const std::exception &) {
                return false;
            }
        } else {
            try {
                file.GetHeader().ReadCompat(is);
            } catch (const std::exception &) {
                is.clear();
                is.seekg(0, std::ios::beg);
            }
        }
        gdcm::DataSet &ds = file.GetDataSet();
        if (plan.encoding == Encoding::Implicit)
            ds.Read<gdcm::ImplicitDataElement, gdcm::SwapperNoOp>(is);
        else if (plan.encoding == Encoding::Explicit && plan.big_endian)
            ds.Read<gdcm::ExplicitDataElement, gdcm::SwapperDoOp>(is);
        else if (plan.encoding == Encoding::Explicit)
            ds.Read<gdcm::ExplicitDataElement, gdcm::SwapperNoOp>(is);
        else if (plan.big_endian)
            ds.Read<gdcm::ExplicitImplicitDataElement, gdcm::SwapperDoOp>(is);
        else
            ds.Read<gdcm::ExplicitImplicitDataElement, gdcm::SwapperNoOp>(is);
        return !is.bad();
    }
    bool read_image(const gdcm::MediaStorage &ms)
    {
        GetImage().SetTransferSyntax(GetFile().GetHeader().GetDataSetTransferSyntax());
        return ReadImage(ms);
    }
};

std::string trim(std::string text)
{
    size_t end = text.find('\0');
    if (end != std::string::npos)
        text.resize(end);
    size_t first = text.find_first_not_of(" \t\r\n");
    size_t last = text.find_last_not_of(" \t\r\n");
    return first == std::string::npos ? std::string() : text.substr(first, last - first + 1);
}

// The value of an element as bytes; false when absent or without a plain value.
bool raw_value(const gdcm::DataSet &ds, const gdcm::Tag &tag, std::string *out)
{
    if (!ds.FindDataElement(tag))
        return false;
    const gdcm::DataElement &de = ds.GetDataElement(tag);
    const gdcm::ByteValue *bv = de.GetByteValue();
    if (!bv || !bv->GetPointer()) {
        out->clear();
        return !de.IsEmpty() ? false : true;
    }
    out->assign(bv->GetPointer(), bv->GetLength());
    return true;
}

void copy_text(char *dst, size_t size, const std::string &text)
{
    size_t n = std::min(text.size(), size - 1);
    memcpy(dst, text.data(), n);
    dst[n] = '\0';
}

std::string text_value(const gdcm::DataSet &ds, uint16_t group, uint16_t element)
{
    std::string raw;
    return raw_value(ds, gdcm::Tag(group, element), &raw) ? trim(raw) : std::string();
}

// A multi-valued decimal string (DS, IS): the numbers, stopping at the first one that is not.
std::vector<double> numbers(const std::string &text)
{
    std::vector<double> values;
    size_t start = 0;
    while (start <= text.size()) {
        size_t end = text.find('\\', start);
        std::string item = trim(text.substr(start, end == std::string::npos ? std::string::npos : end - start));
        char *stop = nullptr;
        double v = strtod(item.c_str(), &stop);
        if (item.empty() || *stop != '\0')
            break;
        values.push_back(v);
        if (end == std::string::npos)
            break;
        start = end + 1;
    }
    return values;
}

std::vector<std::string> strings(const std::string &text)
{
    std::vector<std::string> values;
    size_t start = 0;
    for (;;) {
        size_t end = text.find('\\', start);
        values.push_back(trim(text.substr(start, end == std::string::npos ? std::string::npos : end - start)));
        if (end == std::string::npos)
            return values;
        start = end + 1;
    }
}

bool non_empty_sequence(const gdcm::DataSet &ds, const gdcm::Tag &tag)
{
    if (!ds.FindDataElement(tag))
        return false;
    gdcm::SmartPointer<gdcm::SequenceOfItems> sq = ds.GetDataElement(tag).GetValueAsSQ();
    return sq && sq->GetNumberOfItems() > 0;
}

// Whether GDCM's typed reading of the element (gdcm::Attribute, which asserts on this) takes
// its VR as the dictionary's `vr`: no VR (implicit), UN, or one sharing a bit with it.
bool vr_fits(const gdcm::DataSet &ds, const gdcm::Tag &tag, gdcm::VR::VRType vr)
{
    gdcm::VR::VRType found = ds.GetDataElement(tag).GetVR();
    return found == gdcm::VR::INVALID || found == gdcm::VR::UN || (found & vr) != 0;
}

// A US value; false unless present with exactly 2 bytes and a VR GDCM reads as US. GDCM has
// already put the values of a big-endian data set in the machine's order (little-endian on the
// machines we build for).
bool us_value(const gdcm::DataSet &ds, const gdcm::Tag &tag, int32_t *out)
{
    std::string raw;
    if (!raw_value(ds, tag, &raw) || raw.size() != 2 || !vr_fits(ds, tag, gdcm::VR::US))
        return false;
    uint16_t v;
    memcpy(&v, raw.data(), 2);
    *out = v;
    return true;
}

// True if the native Pixel Data element whose declared length is `vl` runs past the end of
// the file. GDCM keeps the declared length of a truncated last element and reads what there
// is, so the check is made on the bytes: the element's header is found as its tag followed by
// that very length (explicit: OB/OW and 2 reserved bytes first; implicit: the length alone).
bool pixel_data_truncated(const std::string &bytes, uint32_t vl, bool big_endian)
{
    const unsigned char tag_le[4] = {0xe0, 0x7f, 0x10, 0x00}, tag_be[4] = {0x7f, 0xe0, 0x00, 0x10};
    const unsigned char *tag = big_endian ? tag_be : tag_le;
    unsigned char len[4];
    for (int i = 0; i < 4; i++)
        len[i] = (unsigned char)(big_endian ? vl >> (24 - 8 * i) : vl >> (8 * i));
    const unsigned char *data = (const unsigned char *)bytes.data();
    size_t size = bytes.size();
    for (size_t at = 0; at + 8 <= size; at++) {
        if (memcmp(data + at, tag, 4) != 0)
            continue;
        size_t value;
        if (at + 12 <= size && (memcmp(data + at + 4, "OW", 2) == 0 || memcmp(data + at + 4, "OB", 2) == 0) &&
            memcmp(data + at + 8, len, 4) == 0)
            value = at + 12;
        else if (memcmp(data + at + 4, len, 4) == 0)
            value = at + 8;
        else
            continue;
        return value + vl > size;
    }
    return false;
}


// ---- the layout check -----------------------------------------------------------------------
// GDCM allocates every value at its declared length before it reads it, and it retries a data
// set that does not parse with other encodings (16-bit VRs, then explicit and implicit
// elements mixed). So a few bytes that declare a value of 1 to 4 GB cost that much memory and
// seconds of zeroing before the read fails: pydicom's 4 KB SC_rgb_jpeg.dcm (an implicit data
// set under an explicit transfer syntax) spent 4 s in GDCM's 16-bit VR retry, and damaged
// lengths made the fuzzer time out. The layout of the elements is therefore walked here
// first, with GDCM's own rules for where a value starts, and a file where an element runs past
// its enclosing item or the end of the file, or nests too deep, or holds too many elements, is
// refused before GDCM allocates anything. The walk also tells which encoding the data set
// really has, so that GDCM is asked to read it with that one only.

// Bounds of the walk. Real files hold thousands of elements (an enhanced multi-frame file with
// per-frame groups a few hundred thousand) and nest a few sequences deep; GDCM holds each
// element in well over 100 bytes, and reads nested sequences recursively.
constexpr size_t kMaxElements = (size_t)4 << 20;
constexpr int kMaxDepth = 32;
constexpr uint32_t kUndefined = 0xffffffffu;

struct Layout {
    Layout(const std::string &bytes, bool big, Encoding how)
        : data((const unsigned char *)bytes.data()), size(bytes.size()), big_endian(big), encoding(how) {}
    const unsigned char *data;
    size_t size;
    bool big_endian;
    Encoding encoding;
    size_t elements = 0;
    bool bad_vr = false;  // an explicit walk met a VR that is not one (the caller may retry)
    std::string problem;
};

struct ElementHeader {
    uint16_t group, element;
    uint32_t length;
    size_t value;  // where the value starts
    gdcm::VR::VRType vr;
};

uint16_t u16(const Layout &l, size_t at)
{
    const unsigned char *p = l.data + at;
    return l.big_endian ? (uint16_t)(p[0] << 8 | p[1]) : (uint16_t)(p[1] << 8 | p[0]);
}

uint32_t u32(const Layout &l, size_t at)
{
    const unsigned char *p = l.data + at;
    return l.big_endian ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]
                        : (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

bool fail_at(Layout &l, size_t at, const std::string &what)
{
    if (l.problem.empty())
        l.problem = what + " (at byte " + std::to_string(at) + ")";
    return false;
}

std::string tag_name(uint16_t group, uint16_t element)
{
    char text[16];
    snprintf(text, sizeof text, "(%04X,%04X)", group, element);
    return text;
}

// The element header at `at`, which must end by `end`; as GDCM reads it: items and delimiters
// have no VR, an explicit VR is two letters GDCM knows (OB, OW, SQ, UN, UT, ... have 2 reserved
// bytes and a 32-bit length, the others a 16-bit one), an implicit element a 32-bit length.
// The lengths GDCM (built with GDCM_SUPPORT_BROKEN_IMPLEMENTATION, as Debian's is) replaces
// to read files of some old writers: an implicit element of 13 bytes is read as 10 (GE),
// (031E,0324) of 0x31F031C as 202 (Papyrus), and an explicit UL of group 0009 of 6 bytes as 4
// (Siemens). The walk must read the same lengths, or a 13 ahead of a damaged element hides it
// (found by the fuzzer: a 33-byte file that GDCM read into a 1.7 GB allocation).
void gdcm_implicit_quirks(ElementHeader *h)
{
    if (h->group == 0xfffe)
        return;
    if (h->length == 13 && !(h->group == 0x0008 && (h->element == 0x0070 || h->element == 0x0080)))
        h->length = 10;
    else if (h->length == 0x31f031c && h->group == 0x031e && h->element == 0x0324)
        h->length = 202;
}

bool element_header(Layout &l, size_t at, size_t end, ElementHeader *h)
{
    if (end - at < 8)
        return fail_at(l, at, "an element header is cut off");
    if (++l.elements > kMaxElements)
        return fail_at(l, at, "more than " + std::to_string(kMaxElements) + " elements");
    h->group = u16(l, at);
    h->element = u16(l, at + 2);
    h->vr = gdcm::VR::INVALID;
    if (h->group == 0xfffe || l.encoding == Encoding::Implicit) {
        h->length = u32(l, at + 4);
        h->value = at + 8;
        gdcm_implicit_quirks(h);
        return true;
    }
    char letters[2] = {(char)l.data[at + 4], (char)l.data[at + 5]};
    gdcm::VR::VRType vr = gdcm::VR::GetVRTypeFromFile(letters);
    if (vr == gdcm::VR::INVALID || vr == gdcm::VR::VR_END) {
        if (l.encoding == Encoding::Explicit) {
            l.bad_vr = true;
            return fail_at(l, at, "element " + tag_name(h->group, h->element) + " has no valid VR");
        }
        h->length = u32(l, at + 4);
        h->value = at + 8;
        gdcm_implicit_quirks(h);
        return true;
    }
    h->vr = vr;
    if (gdcm::VR::GetLength(vr) == 4) {
        if (end - at < 12)
            return fail_at(l, at, "an element header is cut off");
        h->length = u32(l, at + 8);
        h->value = at + 12;
    } else {
        h->length = u16(l, at + 6);
        h->value = at + 8;
        if (h->length == 6 && vr == gdcm::VR::UL && h->group == 0x0009)
            h->length = 4;
    }
    return true;
}

bool walk_items(Layout &l, size_t at, size_t end, int depth, bool undefined, bool fragments, size_t *next);

// GDCM asserts on an explicit VR that does not fit its element: Pixel Data as a sequence, and an
// undefined length on anything but a sequence, UN, or Pixel Data of OB or OW (or UN, except in a
// data set of mixed encodings). The fuzzer's most frequent assertions after the walk's others.
std::string vr_problem(const Layout &l, const ElementHeader &h)
{
    if (h.vr == gdcm::VR::INVALID || h.group == 0xfffe)
        return "";
    bool pixels = h.group == 0x7fe0 && h.element == 0x0010;
    if (h.vr == gdcm::VR::SQ)
        return pixels && h.length != 0 ? "Pixel Data (7FE0,0010) has the VR SQ" : "";
    if (h.length != kUndefined)
        return "";
    bool fits = pixels ? (h.vr & gdcm::VR::OB_OW) || (h.vr == gdcm::VR::UN && l.encoding == Encoding::Explicit)
                       : h.vr == gdcm::VR::UN;
    return fits ? "" : "element " + tag_name(h.group, h.element) + " of undefined length has the VR " +
                           gdcm::VR::GetVRString(h.vr);
}

// The elements from `at` to `end`, or, inside an item of undefined length, up to its Item
// Delimitation Item. *next is where the walk stopped.
bool walk_elements(Layout &l, size_t at, size_t end, int depth, bool until_delimiter, size_t *next)
{
    if (depth > kMaxDepth)
        return fail_at(l, at, "sequences nest deeper than " + std::to_string(kMaxDepth));
    while (at < end) {
        ElementHeader h;
        if (!element_header(l, at, end, &h))
            return false;
        if (h.group == 0xfffe && h.element == 0xe00d) {  // Item Delimitation Item
            at = h.value;
            if (until_delimiter) {
                if (next)
                    *next = at;
                return true;
            }
            continue;
        }
        if (h.group == 0xfffe)
            return fail_at(l, at, tag_name(h.group, h.element) + " outside a sequence");
        std::string vr = vr_problem(l, h);
        if (!vr.empty())
            return fail_at(l, at, vr);
        if (h.length == kUndefined) {
            bool pixels = h.group == 0x7fe0 && h.element == 0x0010;
            // The items of a UN of undefined length (CP-246), and in a mixed data set those of
            // an element without a VR, hold implicit VR elements: GDCM reads them so, and a walk
            // that read them as explicit missed a 1.5 GB length (found by the fuzzer).
            Encoding outer = l.encoding;
            if (!pixels && h.group != 0xfffe &&
                (h.vr == gdcm::VR::UN || (h.vr == gdcm::VR::INVALID && outer == Encoding::Mixed)))
                l.encoding = Encoding::Implicit;
            bool walked = walk_items(l, h.value, end, depth + 1, true, pixels, &at);
            l.encoding = outer;
            if (!walked)
                return false;
            continue;
        }
        if (h.length > end - h.value)
            return fail_at(l, at, "element " + tag_name(h.group, h.element) + " declares " +
                                      std::to_string(h.length) + " bytes where " +
                                      std::to_string(end - h.value) + " remain");
        // GDCM parses an explicit SQ of defined length now (an implicit one stays bytes until
        // asked for).
        if (h.vr == gdcm::VR::SQ && !walk_items(l, h.value, h.value + h.length, depth + 1, false, false, nullptr))
            return false;
        at = h.value + h.length;
    }
    // GDCM asserts when an item of undefined length ends without its delimiter (a file cut
    // inside a sequence: the most frequent assertion the fuzzer met, each losing that call's
    // memory).
    if (until_delimiter)
        return fail_at(l, at, "an item of undefined length is not closed (no Item Delimitation "
                              "Item before the end of its sequence or of the file)");
    if (next)
        *next = at;
    return true;
}

// The items of a sequence (or the fragments of encapsulated pixel data) from `at`: up to `end`
// for a defined length, else up to the Sequence Delimitation Item.
bool walk_items(Layout &l, size_t at, size_t end, int depth, bool undefined, bool fragments, size_t *next)
{
    if (depth > kMaxDepth)
        return fail_at(l, at, "sequences nest deeper than " + std::to_string(kMaxDepth));
    // GDCM reads the Basic Offset Table item first and asserts when the file ends before it.
    if (fragments && at >= end)
        return fail_at(l, at, "the file ends before the pixel data's Basic Offset Table item");
    while (at < end) {
        if (end - at < 8)
            return fail_at(l, at, "an item header is cut off");
        if (++l.elements > kMaxElements)
            return fail_at(l, at, "more than " + std::to_string(kMaxElements) + " elements");
        uint16_t group = u16(l, at), element = u16(l, at + 2);
        uint32_t length = u32(l, at + 4);
        at += 8;
        if (group == 0xfffe && element == 0xe0dd) {  // Sequence Delimitation Item
            // GDCM reads a fragment delimiter's value at its length, then asserts it was 0 (a
            // delimiter of 1 GiB in a 486-byte file: an out-of-memory the fuzzer found).
            if (fragments && length != 0)
                return fail_at(l, at - 8, "the pixel data's Sequence Delimitation Item declares " +
                                              std::to_string(length) + " bytes (must be 0)");
            if (undefined)
                break;
            continue;
        }
        if (group != 0xfffe || element != 0xe000)
            return fail_at(l, at - 8, "a sequence holds " + tag_name(group, element) + " where an item belongs");
        if (length == kUndefined) {
            if (fragments)
                return fail_at(l, at - 8, "a pixel data fragment without a length");
            if (!walk_elements(l, at, end, depth + 1, true, &at))
                return false;
            continue;
        }
        if (length > end - at)
            return fail_at(l, at - 8, "an item declares " + std::to_string(length) + " bytes where " +
                                          std::to_string(end - at) + " remain");
        if (!fragments && !walk_elements(l, at, at + length, depth + 1, false, nullptr))
            return false;
        at += length;
    }
    if (next)
        *next = at;
    return true;
}

// A deflated data set (PS3.5 A.5: raw deflate, explicit VR little endian once inflated) is
// inflated here, at most kMaxInflated bytes, and walked like any other: GDCM inflates it as it
// reads, element by element, allocating each at its declared length (a 4 KB file declared a
// 4 GB value, found by the fuzzer). GDCM reads it in one pass without retries, so the walk of
// the inflated bytes is the layout GDCM will meet.
constexpr size_t kMaxInflated = (size_t)1 << 30;

std::string check_deflated(const std::string &bytes, size_t at)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, -MAX_WBITS) != Z_OK)
        throw std::bad_alloc();
    std::string inflated;
    z.next_in = (Bytef *)(bytes.data() + at);
    z.avail_in = (uInt)std::min<size_t>(bytes.size() - at, UINT_MAX);
    int result = Z_OK;
    while (result == Z_OK) {
        size_t done = inflated.size();
        if (done >= kMaxInflated)
            break;
        inflated.resize(std::min(kMaxInflated, std::max<size_t>(done * 2, 64 * 1024)));
        z.next_out = (Bytef *)&inflated[done];
        z.avail_out = (uInt)(inflated.size() - done);
        result = inflate(&z, Z_NO_FLUSH);
        inflated.resize(inflated.size() - z.avail_out);
    }
    std::string why = z.msg ? z.msg : "truncated";
    inflateEnd(&z);
    if (result == Z_OK)
        return "the deflated data set inflates to more than " + std::to_string(kMaxInflated >> 20) + " MiB";
    if (result != Z_STREAM_END)
        return "the deflated data set does not inflate (zlib: " + why + ")";
    Layout l(inflated, false, Encoding::Explicit);
    if (!walk_elements(l, 0, inflated.size(), 0, false, nullptr))
        return "in the inflated data set: " + l.problem;
    return "";
}

// GDCM's file meta readers assert (they do not fail) when the file ends where the next
// element's tag or length should be, so the group must be followed by a tag of another group.
std::string meta_end_problem(const Layout &l, size_t at)
{
    size_t left = l.size - at;
    if (left < 4 || (left < 12 && u16(l, at) == 0x0002))
        return "the file ends inside or right after its file meta information (at byte " +
               std::to_string(at) + ")";
    return "";
}

// A file without a preamble that starts with group 0002: GDCM's ReadCompat reads the group as
// explicit VR when the first element's VR is a known one (walk_explicit_meta), and
// as implicit VR otherwise, allocating each element at its declared length (20 bytes asked
// for 1.4 GB: an out-of-memory the fuzzer found). That case is walked here: *at is left after
// the group, where GDCM goes on, and *syntax set when the group names a transfer syntax GDCM
// knows.
std::string walk_implicit_meta(Layout &l, const std::string &bytes, size_t *at, std::string *syntax)
{
    size_t pos = 0, end = bytes.size();
    std::string raw_syntax;
    while (pos + 8 <= end && u16(l, pos) == 0x0002) {
        uint16_t element = u16(l, pos + 2);
        uint32_t length = u32(l, pos + 4);
        if (length == kUndefined || length > end - pos - 8)
            return "the implicit file meta element " + tag_name(0x0002, element) + " declares " +
                   std::to_string(length) + " bytes where " + std::to_string(end - pos - 8) + " remain";
        if (element == 0x0010)
            raw_syntax.assign((const char *)l.data + pos + 8, length);
        pos += 8 + length;
    }
    std::string problem = meta_end_problem(l, pos);
    if (!problem.empty())
        return problem;
    // GDCM reads the data set from here, with or without a transfer syntax it knows (without
    // one it guesses the encoding from the next element; the walk reads it mixed). Walking it
    // from the first byte instead read this group's elements with the data set's rules, where
    // an implicit length of 13 counts as 10, and missed a 4 GB length (the fuzzer found it).
    *at = pos;
    if (gdcm::TransferSyntax::GetTSType(raw_syntax.c_str()) != gdcm::TransferSyntax::TS_END)
        *syntax = trim(raw_syntax);
    return "";
}

// An explicit VR file meta group from `at`, walked as GDCM reads it; *end is left after it and
// *syntax set to its transfer syntax. "" or why GDCM's reader would fail on it.
std::string walk_explicit_meta(Layout &l, size_t at, size_t *end, std::string *syntax)
{
    while (at + 8 <= l.size && u16(l, at) == 0x0002) {
        ElementHeader h;
        if (!element_header(l, at, l.size, &h))
            return l.problem;
        if (h.length == kUndefined || h.length > l.size - h.value)
            return "the file meta element " + tag_name(h.group, h.element) + " runs past the end of the file";
        if (h.vr == gdcm::VR::SQ)  // GDCM asserts on a sequence here
            return "the file meta element " + tag_name(h.group, h.element) + " is a sequence";
        if (h.element == 0x0010)
            *syntax = trim(std::string((const char *)l.data + h.value, h.length));
        at = h.value + h.length;
    }
    *end = at;
    return meta_end_problem(l, at);
}

// Where the data set starts and how GDCM should read it (*plan); "" or why the file is refused.
std::string check_layout(const std::string &bytes, Plan *plan)
{
    Layout l(bytes, false, Encoding::Mixed);
    size_t at = 0;
    bool preamble = bytes.size() >= 132 && memcmp(l.data + 128, "DICM", 4) == 0;
    plan->preamble = preamble;
    std::string syntax;
    bool meta = false;
    if (preamble && bytes.size() >= 140 && u16(l, 132) == 0x0002) {
        // The file meta information: explicit little endian, group 0002
        std::string problem = walk_explicit_meta(l, 132, &at, &syntax);
        if (!problem.empty())
            return problem;
        meta = true;
    } else if (preamble) {
        at = 132;
    }
    if (!preamble && bytes.size() >= 8 && u16(l, 0) == 0x0002) {
        char letters[3] = {(char)l.data[4], (char)l.data[5], 0};
        std::string problem;
        if (gdcm::VR::IsValid(letters)) {
            // GDCM reads this group as explicit meta information; the data set is walked from
            // the first byte as before (the mixed walk reads the group too).
            size_t end;
            std::string ignored;
            problem = walk_explicit_meta(l, 0, &end, &ignored);
        } else {
            problem = walk_implicit_meta(l, bytes, &at, &syntax);
        }
        if (!problem.empty())
            return problem;
        meta = at > 0;
    }
    if (syntax == "1.2.840.10008.1.2.1.99") {
        plan->deflated = true;
        return check_deflated(bytes, at);
    }
    size_t start = at;
    if (syntax == "1.2.840.10008.1.2") {
        l.encoding = Encoding::Implicit;
    } else if (syntax == "1.2.840.10008.1.2.2") {
        l.big_endian = true;
        l.encoding = Encoding::Explicit;
    } else if (meta && !syntax.empty()) {
        l.encoding = Encoding::Explicit;
    } else {
        // No transfer syntax: GDCM guesses the encoding from the first element.
        l.big_endian = bytes.size() >= start + 2 && l.data[start] == 0 && l.data[start + 1] != 0;
        l.encoding = Encoding::Mixed;
    }
    bool walked = walk_elements(l, start, bytes.size(), 0, false, nullptr);
    if (!walked && l.bad_vr && !l.big_endian && meta) {
        // An explicit transfer syntax over (partly) implicit elements, which pydicom and GDCM
        // both read: walk it as GDCM will then be asked to read it.
        l = Layout(bytes, false, Encoding::Mixed);
        walked = walk_elements(l, start, bytes.size(), 0, false, nullptr);
    }
    if (walked) {
        plan->encoding = l.encoding;
        plan->big_endian = l.big_endian;
        return "";
    }
    return l.problem;
}

}  // namespace

struct bmci_dicom {
    std::string bytes;
    std::unique_ptr<CheckedImageReader> reader;
    bool has_image = false;
    std::mutex lock;
    bool decoded = false;
    std::vector<char> buffer;
    bmci_dicom_pixels pixels{};
};

namespace {

// Attributes the library never uses that GDCM's image reader reads through assertions when
// they are there: icon images and overlays; the slice spacings it reads for MR, NM and US
// volumes (Spacing Between Slices, of the dictionary's VR) and RT Dose (Grid Frame Offset
// Vector, with two values at least); the Frame Increment Pointer (whose VR and target it
// asserts on; the library counts frames by Number of Frames, as GDCM does); the functional
// groups of enhanced multi-frame images (where it reads spacing, origin, orientation and
// rescale; the slice spacing asserts on an orientation); Lossy Image Compression of another
// VR than CS; and a Recognition Code (retired since ACR-NEMA) that is not "ACR-NEMA",
// "ACRNEMA" or "MIPS 2.0". Found by fuzz_dicom; without them GDCM takes a spacing of 1 and the
// file as DICOM. The library reads its attributes before (read_header).
void remove_asserted_attributes(gdcm::DataSet &ds)
{
    ds.Remove(gdcm::Tag(0x0088, 0x0200));
    for (uint16_t group = 0x6000; group <= 0x601e; group += 2)
        for (uint16_t element : {0x0010, 0x0011, 0x0100, 0x0102, 0x3000})
            ds.Remove(gdcm::Tag(group, element));
    ds.Remove(gdcm::Tag(0x0018, 0x0088));
    ds.Remove(gdcm::Tag(0x3004, 0x000c));
    ds.Remove(gdcm::Tag(0x0028, 0x0009));
    ds.Remove(gdcm::Tag(0x5200, 0x9229));
    ds.Remove(gdcm::Tag(0x5200, 0x9230));
    const gdcm::Tag lossy(0x0028, 0x2110);
    if (ds.FindDataElement(lossy) && !vr_fits(ds, lossy, gdcm::VR::CS))
        ds.Remove(lossy);
    const gdcm::Tag recognition(0x0008, 0x0010);
    if (!ds.FindDataElement(recognition) || ds.GetDataElement(recognition).IsEmpty())
        return;
    const gdcm::ByteValue *bv = ds.GetDataElement(recognition).GetByteValue();
    std::string code = bv && bv->GetPointer() ? std::string(bv->GetPointer(), bv->GetLength()) : "";
    if (code.compare(0, 8, "ACR-NEMA") != 0 && code.compare(0, 7, "ACRNEMA") != 0 &&
        code.compare(0, 8, "MIPS 2.0") != 0)
        ds.Remove(recognition);
}

// Why GDCM's image reader must not see this data set ("" when it may). These are the
// attributes it reads through assert()s, with the values the display pipeline can use.
std::string image_problem(const gdcm::DataSet &ds, bmci_dicom_header *h)
{
    if (!ds.FindDataElement(gdcm::Tag(0x7fe0, 0x0010)))
        return "no pixel data (7FE0,0010)";
    struct {
        uint16_t element;
        const char *name;
        int32_t *into;
    } required[] = {
        {0x0010, "Rows", &h->rows},
        {0x0011, "Columns", &h->columns},
        {0x0100, "Bits Allocated", &h->bits_allocated},
        {0x0101, "Bits Stored", &h->bits_stored},
        {0x0102, "High Bit", &h->high_bit},
        {0x0103, "Pixel Representation", &h->pixel_representation},
    };
    for (auto &r : required)
        if (!us_value(ds, gdcm::Tag(0x0028, r.element), r.into))
            return std::string("no valid ") + r.name + " (0028," + [&] {
                char hex[8];
                snprintf(hex, sizeof hex, "%04X", r.element);
                return std::string(hex);
            }() + ")";
    h->samples_per_pixel = 1;
    if (ds.FindDataElement(gdcm::Tag(0x0028, 0x0002)) &&
        !us_value(ds, gdcm::Tag(0x0028, 0x0002), &h->samples_per_pixel))
        return "Samples per Pixel (0028,0002) is not one US value";
    h->planar_configuration = 0;
    if (ds.FindDataElement(gdcm::Tag(0x0028, 0x0006)) &&
        !us_value(ds, gdcm::Tag(0x0028, 0x0006), &h->planar_configuration))
        return "Planar Configuration (0028,0006) is not one US value";
    if (h->rows < 1 || h->columns < 1)
        return "the image is empty (Rows " + std::to_string(h->rows) + ", Columns " +
               std::to_string(h->columns) + ")";
    int32_t ba = h->bits_allocated;
    if (ba != 1 && ba != 8 && ba != 16 && ba != 32)
        return "Bits Allocated " + std::to_string(ba) + " is not 1, 8, 16 or 32";
    if (h->bits_stored < 1 || h->bits_stored > ba || h->high_bit != h->bits_stored - 1)
        return "Bits Stored " + std::to_string(h->bits_stored) + " / High Bit " +
               std::to_string(h->high_bit) + " do not fit Bits Allocated " + std::to_string(ba);
    if (h->pixel_representation != 0 && h->pixel_representation != 1)
        return "Pixel Representation " + std::to_string(h->pixel_representation) + " is not 0 or 1";
    if (h->samples_per_pixel != 1 && h->samples_per_pixel != 3)
        return "Samples per Pixel " + std::to_string(h->samples_per_pixel) + " is not 1 or 3";
    if (h->planar_configuration != 0 && h->planar_configuration != 1)
        return "Planar Configuration " + std::to_string(h->planar_configuration) + " is not 0 or 1";
    std::string pi = h->photometric;
    gdcm::PhotometricInterpretation::PIType type =
        gdcm::PhotometricInterpretation::GetPIType(pi.c_str());
    if (pi.empty() || type == gdcm::PhotometricInterpretation::UNKNOWN ||
        type == gdcm::PhotometricInterpretation::PI_END)
        return "Photometric Interpretation '" + pi + "' is not one GDCM knows";
    int32_t needed = type == gdcm::PhotometricInterpretation::MONOCHROME1 ||
                     type == gdcm::PhotometricInterpretation::MONOCHROME2 ||
                     type == gdcm::PhotometricInterpretation::PALETTE_COLOR ? 1 : 3;
    if (needed != h->samples_per_pixel)
        return "Photometric Interpretation " + pi + " with " + std::to_string(h->samples_per_pixel) +
               " samples per pixel";
    if (type == gdcm::PhotometricInterpretation::PALETTE_COLOR) {
        if (ba != 8 && ba != 16)
            return "a palette needs 8 or 16 bits allocated";
        for (uint16_t i = 0; i < 3; i++) {
            std::string descriptor, table;
            if (ds.FindDataElement(gdcm::Tag(0x0028, 0x1221 + i)))
                return "segmented palettes are not read";
            if (!raw_value(ds, gdcm::Tag(0x0028, 0x1101 + i), &descriptor) || descriptor.size() != 6 ||
                !raw_value(ds, gdcm::Tag(0x0028, 0x1201 + i), &table))
                return "the palette's descriptor or data is missing";
            const unsigned char *d = (const unsigned char *)descriptor.data();
            uint16_t entries16, bits16;
            memcpy(&entries16, d, 2);
            memcpy(&bits16, d + 4, 2);
            unsigned entries = entries16, bits = bits16;
            if (entries == 0)
                entries = 65536;
            if ((bits != 8 && bits != 16) || (size_t)entries * bits / 8 != table.size())
                return "the palette's data does not match its descriptor";
        }
    }
    // Number of Frames: GDCM asserts on a Frame Increment Pointer without it.
    h->frames = 1;
    if (ds.FindDataElement(gdcm::Tag(0x0028, 0x0008))) {
        std::vector<double> n = numbers(text_value(ds, 0x0028, 0x0008));
        if (n.size() != 1 || n[0] < 1 || n[0] > 1e7 || n[0] != (double)(int32_t)n[0] ||
            !vr_fits(ds, gdcm::Tag(0x0028, 0x0008), gdcm::VR::IS))
            return "Number of Frames (0028,0008) is not one positive integer of VR IS";
        h->frames = (int32_t)n[0];
    }
    return "";
}

void read_header(const gdcm::File &file, bmci_dicom_header *h)
{
    const gdcm::DataSet &ds = file.GetDataSet();
    copy_text(h->transfer_syntax, sizeof h->transfer_syntax,
              trim(file.GetHeader().GetDataSetTransferSyntax().GetString() ?
                   file.GetHeader().GetDataSetTransferSyntax().GetString() : ""));
    copy_text(h->photometric, sizeof h->photometric, text_value(ds, 0x0028, 0x0004));
    copy_text(h->modality, sizeof h->modality, text_value(ds, 0x0008, 0x0060));
    copy_text(h->sop_instance_uid, sizeof h->sop_instance_uid, text_value(ds, 0x0008, 0x0018));
    copy_text(h->series_instance_uid, sizeof h->series_instance_uid, text_value(ds, 0x0020, 0x000e));
    copy_text(h->study_instance_uid, sizeof h->study_instance_uid, text_value(ds, 0x0020, 0x000d));
    copy_text(h->voi_lut_function, sizeof h->voi_lut_function, text_value(ds, 0x0028, 0x1056));
    std::string raw;
    h->rescale_slope = 1.0;
    h->rescale_intercept = 0.0;
    std::vector<double> slope = numbers(text_value(ds, 0x0028, 0x1053));
    std::vector<double> intercept = numbers(text_value(ds, 0x0028, 0x1052));
    if (!slope.empty() || !intercept.empty()) {
        h->has_rescale = 1;
        if (!slope.empty())
            h->rescale_slope = slope[0];
        if (!intercept.empty())
            h->rescale_intercept = intercept[0];
    }
    std::vector<double> centers = numbers(text_value(ds, 0x0028, 0x1050));
    std::vector<double> widths = numbers(text_value(ds, 0x0028, 0x1051));
    std::vector<std::string> explanations = strings(text_value(ds, 0x0028, 0x1055));
    size_t count = std::min({centers.size(), widths.size(), (size_t)BMCI_DICOM_MAX_WINDOWS});
    h->window_count = (int32_t)count;
    for (size_t i = 0; i < count; i++) {
        h->window_center[i] = centers[i];
        h->window_width[i] = widths[i];
        copy_text(h->window_explanation[i], sizeof h->window_explanation[i],
                  i < explanations.size() ? explanations[i] : std::string());
    }
    h->has_voi_lut_sequence = non_empty_sequence(ds, gdcm::Tag(0x0028, 0x3010));
    h->has_modality_lut_sequence = non_empty_sequence(ds, gdcm::Tag(0x0028, 0x3000));
}

}  // namespace

extern "C" bmc_status bmci_dicom_parse(const void *data, size_t size, bmci_dicom **out,
                                       bmci_dicom_header *header)
{
    // Held out here, not in the body, so that a GDCM abort (which skips the body's
    // destructors) does not lose them.
    std::unique_ptr<bmci_dicom> dicom;
    std::unique_ptr<std::istringstream> stream;
    return guard_aborts("dicom", [&]() -> bmc_status {
        silence_gdcm();
        dicom.reset(new bmci_dicom);
        dicom->bytes.assign((const char *)data, size);
        dicom->reader.reset(new CheckedImageReader);
        Plan plan;
        std::string layout = check_layout(dicom->bytes, &plan);
        if (!layout.empty())
            return bmci_fail(BMC_ERR_CORRUPT_DATA, "dicom: not a DICOM file, or a damaged one: %s",
                             layout.c_str());
        stream.reset(new std::istringstream(dicom->bytes));
        dicom->reader->SetStream(*stream);
        if (!dicom->reader->parse(*stream, plan))
            return bmci_fail(BMC_ERR_CORRUPT_DATA, "dicom: not a DICOM file, or truncated before "
                             "the end of its data set (GDCM cannot parse it)");
        gdcm::File &file = dicom->reader->GetFile();
        gdcm::DataSet &ds = file.GetDataSet();
        bmci_dicom_header h{};
        read_header(file, &h);
        std::string problem = image_problem(ds, &h);
        const gdcm::TransferSyntax &syntax = file.GetHeader().GetDataSetTransferSyntax();
        if (problem.empty() && syntax == gdcm::TransferSyntax::RLELossless)
            problem = bmci_rle_problem(ds, &h);
        if (problem.empty() && (syntax == gdcm::TransferSyntax::JPEG2000Lossless ||
                                syntax == gdcm::TransferSyntax::JPEG2000 ||
                                syntax == gdcm::TransferSyntax::JPEG2000Part2Lossless ||
                                syntax == gdcm::TransferSyntax::JPEG2000Part2))
            problem = bmci_jpeg2000_problem(ds, &h);
        if (problem.empty() && gdcm::JPEGCodec().CanDecode(syntax))
            problem = bmci_jpeg_problem(ds);
        if (problem.empty()) {
            remove_asserted_attributes(ds);
            // GDCM asserts on an RT Dose (and others) without Number of Frames: give it the
            // value the standard implies.
            if (!ds.FindDataElement(gdcm::Tag(0x0028, 0x0008))) {
                gdcm::DataElement frames(gdcm::Tag(0x0028, 0x0008));
                frames.SetVR(gdcm::VR::IS);
                frames.SetByteValue("1 ", 2);
                ds.Replace(frames);
            }
            gdcm::MediaStorage ms;
            ms.SetFromFile(file);
            if (!gdcm::MediaStorage::IsImage(ms))
                ms = gdcm::MediaStorage::SecondaryCaptureImageStorage;
            if (!dicom->reader->read_image(ms))
                problem = "GDCM cannot read its image";
            else {
                const gdcm::Image &image = dicom->reader->GetImage();
                const unsigned int *dims = image.GetDimensions();
                unsigned frames = image.GetNumberOfDimensions() > 2 ? dims[2] : 1;
                if ((int32_t)dims[0] != h.columns || (int32_t)dims[1] != h.rows ||
                    (int32_t)frames != h.frames)
                    problem = "GDCM reads another geometry than the attributes give";
            }
        }
        if (!problem.empty()) {
            h.has_image = 0;
            h.frames = h.rows = h.columns = 0;
            copy_text(h.why_no_image, sizeof h.why_no_image, problem);
        } else {
            h.has_image = 1;
        }
        dicom->has_image = h.has_image != 0;
        *header = h;
        *out = dicom.release();
        return BMC_OK;
    }, [] {});
}

extern "C" bmc_status bmci_dicom_decode(bmci_dicom *dicom, bmci_dicom_pixels *pixels)
{
    dicom->lock.lock();
    std::vector<char> buffer, converted; // out of the body: see bmci_dicom_parse
    bmc_status status = guard_aborts("dicom", [&]() -> bmc_status {
        if (!dicom->has_image)
            return bmci_fail(BMC_ERR_UNSUPPORTED, "dicom: the file has no image to decode");
        if (!dicom->decoded) {
            gdcm::Image &image = dicom->reader->GetImage();
            const gdcm::TransferSyntax &ts = image.GetTransferSyntax();
            if (!ts.IsEncapsulated()) {
                // GDCM copies what there is of a short native Pixel Data and reports success
                const gdcm::ByteValue *bv = image.GetDataElement().GetByteValue();
                size_t have = bv ? (size_t)bv->GetLength() : 0;
                size_t need = image.GetBufferLength();
                if (image.GetPhotometricInterpretation() == gdcm::PhotometricInterpretation::YBR_FULL_422)
                    need = need / 3 * 2; // stored as Y Y Cb Cr, expanded by GDCM
                const gdcm::VL vl = image.GetDataElement().GetVL();
                // GetSwapCode() asserts on a transfer syntax GDCM does not know
                bool big = ts.IsValid() && ts.GetSwapCode() == gdcm::SwapCode::BigEndian;
                if (!vl.IsUndefined() && ts != gdcm::TransferSyntax::DeflatedExplicitVRLittleEndian &&
                    pixel_data_truncated(dicom->bytes, (uint32_t)vl, big))
                    return bmci_fail(BMC_ERR_CORRUPT_DATA, "dicom: the file ends inside its pixel "
                                     "data (%u bytes declared)", (unsigned)(uint32_t)vl);
                if (have < need)
                    return bmci_fail(BMC_ERR_CORRUPT_DATA, "dicom: the pixel data holds %zu bytes, "
                                     "the header says %zu", have, need);
            }
            buffer.resize(image.GetBufferLength());
            if (!image.GetBuffer(buffer.data())) {
                if (!ts.IsValid() || ts == gdcm::TransferSyntax::TS_END)
                    return bmci_fail(BMC_ERR_UNSUPPORTED, "dicom: transfer syntax unknown to GDCM");
                return bmci_fail(BMC_ERR_CORRUPT_DATA, "dicom: GDCM cannot decode the pixel data "
                                 "(%s): damaged, or shorter than the header promises",
                                 ts.GetString() ? ts.GetString() : "?");
            }
            gdcm::PixelFormat pf = image.GetPixelFormat();
            if (image.GetPhotometricInterpretation() == gdcm::PhotometricInterpretation::PALETTE_COLOR) {
                gdcm::ImageApplyLookupTable apply;
                apply.SetInput(image);
                if (!apply.Apply())
                    return bmci_fail(BMC_ERR_CORRUPT_DATA, "dicom: the palette cannot be applied");
                const gdcm::Pixmap &rgb = apply.GetOutput();
                converted.resize(rgb.GetBufferLength());
                if (!rgb.GetBuffer(converted.data()))
                    return bmci_fail(BMC_ERR_CORRUPT_DATA, "dicom: the palette cannot be applied");
                buffer.swap(converted);
                pf = rgb.GetPixelFormat();
                copy_text(dicom->pixels.photometric, sizeof dicom->pixels.photometric, "RGB");
                dicom->pixels.planar_configuration = 0;
            } else {
                copy_text(dicom->pixels.photometric, sizeof dicom->pixels.photometric,
                          trim(gdcm::PhotometricInterpretation::GetPIString(
                              image.GetPhotometricInterpretation()) ?: ""));
                dicom->pixels.planar_configuration = (int32_t)image.GetPlanarConfiguration();
            }
            dicom->pixels.samples_per_pixel = pf.GetSamplesPerPixel();
            dicom->pixels.bits_allocated = pf.GetBitsAllocated();
            dicom->buffer.swap(buffer);
            dicom->pixels.data = (const uint8_t *)dicom->buffer.data();
            dicom->pixels.size = dicom->buffer.size();
            dicom->decoded = true;
        }
        *pixels = dicom->pixels;
        return BMC_OK;
    }, [&] { dicom->has_image = false; });
    dicom->lock.unlock();
    return status;
}

extern "C" void bmci_dicom_free(bmci_dicom *dicom)
{
    delete dicom;
}
