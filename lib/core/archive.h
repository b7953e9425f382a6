/* SPDX-License-Identifier: MIT */
/* The structure and checksums of a TorchScript archive (a zip file), checked before libtorch
 * reads it: libtorch 1.13's zip reader skips the entries' CRC-32s (its miniz is built with
 * MINIZ_DISABLE_ZIP_READER_CRC32_CHECKS), so a damaged byte in a pickle reached its unpickler,
 * which then reserved and filled gigabytes from a count it read (fuzz_bundle found a 20 s
 * hang, test_corrupt a 28 GB allocation). */
#ifndef BMC_LIB_ARCHIVE_H
#define BMC_LIB_ARCHIVE_H

#include "biomedclip.h"

/* Check the zip archive at `path`: the end record (zip64 too), every central directory record,
 * each entry's local header and data lying inside the file before the directory, stored
 * entries' sizes, and the size and CRC-32 of every entry, stored or deflated (deflated ones
 * are inflated in bounded chunks to check them). `what` names the file's kind in
 * messages ("model", "VQA head", "decoder"). A file that cannot be opened or does not start
 * with a zip local header gives BMC_OK: the caller's loader reports those as it always has.
 * Errors: BMC_ERR_CORRUPT_DATA (truncated, inconsistent or damaged), BMC_ERR_IO (a read
 * failed), BMC_ERR_OUT_OF_MEMORY. Thread-safe. */
bmc_status bmci_archive_check(const char *path, const char *what);

#endif
