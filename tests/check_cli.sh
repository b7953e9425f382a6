#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The biomedclip command-line tool on the tiny model: its outputs against the Python references
# (model fixtures, Pillow, the tokenizer reference) and the library's own results, raw pixel
# input against hand-made buffers, and error handling. Comparisons: tools/checks/cli_check.py.
set -u
BUILD=${BUILD:-build}
PYTHON=${PYTHON:-/usr/bin/python3}
FIXTURES=${BMC_FIXTURES:-$BUILD/fixtures}/model
CLI=$BUILD/biomedclip
CHECK="$PYTHON -m tools.checks.cli_check"
VOCAB=tests/data/bert-base-uncased-vocab.txt
passed=0; failed=0
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT

pass() { passed=$((passed + 1)); echo "ok   $1"; }
flunk() { failed=$((failed + 1)); echo "FAIL $1"; [ -f "$work/err" ] && sed 's/^/     /' "$work/err" | head -n 5; }

# run NAME COMMAND...: the command must succeed (its stderr goes to $work/err).
run() { local name=$1; shift; if "$@" 2>"$work/err"; then return 0; fi; flunk "$name: exit $?"; return 1; }

# compare NAME CHECK-ARGS...: a cli_check.py comparison.
compare() {
    local name=$1 out; shift
    if out=$($CHECK "$@" 2>&1); then pass "$name: ${out#ok   }"; else rm -f "$work/err"; flunk "$name: $out"; fi
}

# refuse NAME EXIT PATTERN COMMAND...: the command must exit with EXIT and say PATTERN on stderr.
refuse() {
    local name=$1 want=$2 pattern=$3; shift 3
    "$@" >"$work/out" 2>"$work/err" </dev/null
    local rc=$?
    if [ "$rc" -eq "$want" ] && grep -q -- "$pattern" "$work/err" && [ ! -s "$work/out" ]; then
        pass "$name: exit $rc, $(head -n 1 "$work/err")"
    else
        flunk "$name: exit $rc (expected $want), stderr should say '$pattern'"
    fi
}

if [ ! -x "$CLI" ] || [ ! -f "$FIXTURES/model.bmc.pt" ]; then
    echo "missing $CLI or $FIXTURES (run make check)"; echo "cli: 0 passed, 1 failed"; exit 1
fi
MODEL=$FIXTURES/model.bmc.pt
dim=$(awk '$1 == "embed_dim" {print $2}' "$FIXTURES/manifest.txt")
scale=$(awk '$1 == "logit_scale" {print $2}' "$FIXTURES/manifest.txt")
mapfile -t images < <(awk -v d="$FIXTURES/images/" '$1 == "image" {print d $3}' "$FIXTURES/manifest.txt")
n=${#images[@]}
ntexts=$(wc -l <"$FIXTURES/texts.txt")

# ---- usage -------------------------------------------------------------------------------------
for cmd in tokenize preprocess embed-image embed-text classify index eval-captions; do
    if "$CLI" "$cmd" --help >"$work/out" 2>"$work/err" && grep -q "^Usage: biomedclip $cmd\b" "$work/out"; then
        pass "$cmd --help"
    else
        flunk "$cmd --help"
    fi
done
"$CLI" --version >"$work/out" 2>&1 && grep -qE '^biomedclip [0-9]+\.[0-9]+\.[0-9]+$' "$work/out" \
    && pass "--version: $(cat "$work/out")" || flunk "--version"

# ---- tokenize ----------------------------------------------------------------------------------
run "tokenize --model" "$CLI" tokenize --model "$MODEL" <"$FIXTURES/texts.txt" >"$work/ids.txt" &&
    compare "tokenize --model vs text_ids.i32" ids "$work/ids.txt" "$FIXTURES/text_ids.i32" "$FIXTURES/text_lengths.i32"

# The BERT vocabulary of tests/data against the Python reference, full context and truncated.
{
    cat "$FIXTURES/texts.txt"
    printf '%s\n' "" "the" "Café naïve résumé — Ünïcödé ACCENTS" "肺炎 chest radiograph 肺癌" \
        "tumour &amp;lt; 3 cm;   margins: clear!!" "$(printf 'x%.0s' $(seq 1 120)) long word" \
        "hyper-vascular, ill-defined (T2/FLAIR) lesion... ¿why?"
    printf 'windows line end\r\n'
    printf 'last line without a newline'
} >"$work/texts.txt"
for context in 256 12; do
    $CHECK ref-ids "$VOCAB" "$context" "$work/texts.txt" >"$work/ref.ids" 2>"$work/err" || flunk "reference ids"
    if run "tokenize --vocab --context $context" "$CLI" tokenize --vocab "$VOCAB" --context "$context" \
           <"$work/texts.txt" >"$work/lib.ids"; then
        if cmp -s "$work/ref.ids" "$work/lib.ids"; then
            pass "tokenize --vocab --context $context: $(wc -l <"$work/ref.ids") lines equal the Python reference"
        else
            rm -f "$work/err"; flunk "tokenize --vocab --context $context differs from the reference:"
            diff "$work/ref.ids" "$work/lib.ids" | head -n 6
        fi
    fi
done

# ---- preprocess --------------------------------------------------------------------------------
run "preprocess" "$CLI" preprocess "${images[@]}" --out "$work/pixels.npy" &&
    compare "preprocess vs image_pixels.f32" pixels "$work/pixels.npy" "$FIXTURES/image_pixels.f32" "$n"
run "preprocess --model" "$CLI" preprocess --model "$MODEL" "${images[@]}" --out "$work/pixels_model.npy" &&
    compare "preprocess --model vs image_pixels.f32" pixels "$work/pixels_model.npy" "$FIXTURES/image_pixels.f32" "$n"
run "preprocess --uint8" "$CLI" preprocess --uint8 "${images[@]}" --out "$work/rgb.npy" &&
    compare "preprocess --uint8 vs Pillow" pixels-u8 "$work/rgb.npy" "${images[@]}"

# ---- embed-image / embed-text --------------------------------------------------------------------
run "embed-image" "$CLI" embed-image --model "$MODEL" "${images[@]}" --out "$work/img.npy" &&
    compare "embed-image vs reference" embeddings "$work/img.npy" "$FIXTURES/image_embeddings.f32" "$n" "$dim" unit
run "embed-image --raw" "$CLI" embed-image --model "$MODEL" --raw "${images[@]}" --out "$work/img_raw.npy" &&
    compare "embed-image --raw vs reference" embeddings "$work/img_raw.npy" "$FIXTURES/image_embeddings.f32" "$n" "$dim" raw
# --batch 1 over the list twice: several batches and chunks, order kept.
run "embed-image --batch 1" "$CLI" embed-image --model "$MODEL" --batch 1 --device cpu --dtype f32 \
        "${images[@]}" "${images[@]}" --out "$work/img_b1.npy" &&
    compare "embed-image --batch 1, 2 x $n images" embeddings "$work/img_b1.npy" "$FIXTURES/image_embeddings.f32" "$n" "$dim" unit 2
run "embed-text" "$CLI" embed-text --model "$MODEL" --out "$work/txt.npy" <"$FIXTURES/texts.txt" &&
    compare "embed-text vs reference" embeddings "$work/txt.npy" "$FIXTURES/text_embeddings_padded.f32" "$ntexts" "$dim" unit
run "embed-text --raw --batch 3" "$CLI" embed-text --model "$MODEL" --raw --batch 3 --out "$work/txt_raw.npy" <"$FIXTURES/texts.txt" &&
    compare "embed-text --raw --batch 3 vs reference" embeddings "$work/txt_raw.npy" "$FIXTURES/text_embeddings_padded.f32" "$ntexts" "$dim" raw

# ---- classify ----------------------------------------------------------------------------------
labels=$(paste -sd, "$FIXTURES/zeroshot_labels.txt")
run "classify" "$CLI" classify --model "$MODEL" "${images[@]}" --labels "$labels" \
        --templates "$FIXTURES/zeroshot_templates.txt" >"$work/classify.jsonl" &&
    compare "classify vs zeroshot_probs.f32" classify "$work/classify.jsonl" "$FIXTURES/zeroshot_probs.f32" \
        "$FIXTURES/zeroshot_labels.txt" 4 "${images[@]}"
run "classify --top 2" "$CLI" classify --model "$MODEL" "${images[@]}" --labels "$labels" --top 2 \
        --templates "$FIXTURES/zeroshot_templates.txt" --batch 2 >"$work/classify2.jsonl" &&
    compare "classify --top 2 vs zeroshot_probs.f32" classify "$work/classify2.jsonl" "$FIXTURES/zeroshot_probs.f32" \
        "$FIXTURES/zeroshot_labels.txt" 2 "${images[@]}"
# The default template against the tool's own embeddings of the same prompts.
own_labels="pneumothorax,pleural effusion,normal lungs"
tr , '\n' <<<"$own_labels" | sed 's/^/this is a photo of /' >"$work/prompts.txt"
run "classify (default template)" "$CLI" classify --model "$MODEL" "${images[@]}" --labels "$own_labels" >"$work/own.jsonl" &&
    run "embed-text of the prompts" "$CLI" embed-text --model "$MODEL" --out "$work/prompts.npy" <"$work/prompts.txt" &&
    compare "classify default template vs embed-image/embed-text" classify-own "$work/own.jsonl" "$work/img.npy" \
        "$work/prompts.npy" "$scale" "$own_labels" "${images[@]}"
# JSON escaping of odd image names and labels.
odd="$work/odd \"quoted\" back\\slash tab	é.png"
cp "${images[0]}" "$odd"
run "classify odd names" "$CLI" classify --model "$MODEL" "$odd" --labels 'say "hi",back\slash,tab	here,ünï' >"$work/odd.jsonl" &&
    compare "classify JSON escaping" json-strings "$work/odd.jsonl" "$odd" 'say "hi"' 'back\slash' 'tab	here' 'ünï'

# ---- multi-label classification and template sets ---------------------------------------------
HEADER=include/biomedclip.h
run "classify --list-templates" "$CLI" classify --list-templates >"$work/sets.txt" &&
    compare "classify --list-templates vs the header" list-templates "$work/sets.txt" "$HEADER"
# --multi-label with CheXzero's default pair and with a set's pairs, against numpy on the tool's
# own embeddings: the prompts of each side are embedded in one embed-text run, label by label,
# the order (and batch) in which the library embeds them.
ml_labels="pleural effusion,pneumothorax,cardiomegaly"
for set in chexzero chest-xray; do
    if [ "$set" = chexzero ]; then set_args=(); else set_args=(--templates "$set"); fi
    $CHECK prompts "$HEADER" "$set" positive "$ml_labels" >"$work/ml_pos.txt" &&
        $CHECK prompts "$HEADER" "$set" negative "$ml_labels" >"$work/ml_neg.txt" || flunk "prompts of $set"
    run "classify --multi-label ($set)" "$CLI" classify --model "$MODEL" --multi-label "${set_args[@]}" \
            "${images[@]}" --labels "$ml_labels" >"$work/ml_$set.jsonl" &&
        run "embed-text of the positive prompts" "$CLI" embed-text --model "$MODEL" --out "$work/ml_pos.npy" <"$work/ml_pos.txt" &&
        run "embed-text of the negative prompts" "$CLI" embed-text --model "$MODEL" --out "$work/ml_neg.npy" <"$work/ml_neg.txt" &&
        compare "classify --multi-label ($set) vs numpy" multilabel "$work/ml_$set.jsonl" "$work/img.npy" \
            "$work/ml_pos.npy" "$work/ml_neg.npy" "$scale" "$ml_labels" "${images[@]}"
done
# The same pairs from files, and a set's name against its templates in a file.
$CHECK templates "$HEADER" chest-xray positive >"$work/cxr_pos.txt"
$CHECK templates "$HEADER" chest-xray negative >"$work/cxr_neg.txt"
run "classify --multi-label (template files)" "$CLI" classify --model "$MODEL" --multi-label "${images[@]}" \
        --labels "$ml_labels" --templates "$work/cxr_pos.txt" --negative-templates "$work/cxr_neg.txt" \
        >"$work/ml_files.jsonl" &&
    { cmp -s "$work/ml_files.jsonl" "$work/ml_chest-xray.jsonl" && pass "multi-label: template files = --templates chest-xray" \
        || flunk "multi-label: template files differ from --templates chest-xray"; }
run "classify --templates chest-xray" "$CLI" classify --model "$MODEL" "${images[@]}" --labels "$labels" \
        --templates chest-xray >"$work/cxr_set.jsonl" &&
    run "classify --templates FILE" "$CLI" classify --model "$MODEL" "${images[@]}" --labels "$labels" \
        --templates "$work/cxr_pos.txt" >"$work/cxr_file.jsonl" &&
    { cmp -s "$work/cxr_set.jsonl" "$work/cxr_file.jsonl" && pass "classify: --templates chest-xray = its templates in a file" \
        || flunk "classify: --templates chest-xray differs from its templates in a file"; }
refuse "unknown template set" 1 "neither a built-in template set" "$CLI" classify --model "$MODEL" "${images[0]}" \
    --labels a,b --templates chest_xray
refuse "--negative-templates without --multi-label" 2 "needs --multi-label" "$CLI" classify --model "$MODEL" \
    "${images[0]}" --labels a,b --negative-templates ct
refuse "--multi-label with a templates file only" 2 "needs --negative-templates" "$CLI" classify --model "$MODEL" \
    "${images[0]}" --labels a,b --multi-label --templates "$work/cxr_pos.txt"
refuse "--multi-label --top" 2 "--top" "$CLI" classify --model "$MODEL" "${images[0]}" --labels a,b --multi-label --top 1
refuse "--list-templates with other arguments" 2 "--list-templates" "$CLI" classify --list-templates --labels a

# ---- raw pixel input -----------------------------------------------------------------------------
mkdir -p "$work/px"
cases=$($CHECK make-pixels "$work/px")
for name in $cases; do
    read -r -a pargs <"$work/px/$name.args"
    run "--pixels $name --uint8" "$CLI" preprocess --uint8 --pixels "$work/px/$name.raw" "${pargs[@]}" --out "$work/px/$name.u8.npy" &&
        run "--pixels $name" "$CLI" preprocess --pixels "$work/px/$name.raw" "${pargs[@]}" --out "$work/px/$name.f32.npy" &&
        compare "--pixels $name vs hand-made" pixel-case "$work/px" "$name" "$work/px/$name.u8.npy" "$work/px/$name.f32.npy"
done
# embed-image of a raw buffer equals embed-image of the same 8-bit image as PNG; mixed inputs
# keep command-line order.
read -r -a pargs <"$work/px/s16_ct.args"
run "embed-image --pixels" "$CLI" embed-image --model "$MODEL" "${images[0]}" --pixels "$work/px/s16_ct.raw" \
        "${images[1]}" "${pargs[@]}" --out "$work/px/mixed.npy" &&
    run "embed-image PNG" "$CLI" embed-image --model "$MODEL" "${images[0]}" "$work/px/s16_ct.png" "${images[1]}" \
        --out "$work/px/png.npy" &&
    compare "embed-image --pixels = PNG of the expected image" same "$work/px/mixed.npy" "$work/px/png.npy" 0
run "classify --pixels" "$CLI" classify --model "$MODEL" --pixels "$work/px/s16_ct.raw" "${pargs[@]}" \
        --labels "$own_labels" >"$work/px/classify.jsonl" &&
    { grep -q "\"image\": \"$work/px/s16_ct.raw\"" "$work/px/classify.jsonl" && pass "classify --pixels names the raw file" \
        || flunk "classify --pixels output: $(head -c 200 "$work/px/classify.jsonl")"; }

# ---- DICOM --------------------------------------------------------------------------------------
# .dcm files of several transfer syntaxes embed as the PNGs of pydicom's display of them
# (apply_modality_lut + apply_voi_lut onto 0..255, or the min..max stretch), and dicom-info
# gives pydicom's attributes.
dcm=$($PYTHON -c 'import os, pydicom; print(os.path.join(os.path.dirname(pydicom.__file__), "data", "test_files"))')
mkdir -p "$work/dcm"
dcms=("$dcm/CT_small.dcm" "$dcm/MR_small.dcm" "$dcm/MR_small_RLE.dcm" "$dcm/MR_small_jp2klossless.dcm" "$dcm/SC_rgb_jpeg_dcmtk.dcm")
$PYTHON - "$work/dcm" "${dcms[@]}" <<'PY'
import sys, warnings, numpy as np, pydicom
from PIL import Image
from pydicom.pixel_data_handlers.util import apply_voi_lut, convert_color_space
warnings.simplefilter("ignore")
for i, path in enumerate(sys.argv[2:]):
    ds = pydicom.dcmread(path)
    a = ds.pixel_array
    if ds.PhotometricInterpretation.startswith("YBR"):
        a = convert_color_space(a, "YBR_FULL", "RGB")
    elif ds.PhotometricInterpretation.startswith("MONO"):
        v = a.astype(np.float64) * float(ds.get("RescaleSlope", 1)) + float(ds.get("RescaleIntercept", 0))
        if "WindowCenter" in ds:
            view = pydicom.Dataset(); view.PhotometricInterpretation = "MONOCHROME2"
            view.BitsStored = 8; view.PixelRepresentation = 0
            view.WindowCenter = ds.WindowCenter; view.WindowWidth = ds.WindowWidth
            y = apply_voi_lut(v, view)
        else:
            y = (v - v.min()) * 255.0 / (v.max() - v.min())
        a = np.clip(np.floor(y + 0.5), 0, 255).astype(np.uint8)
    Image.fromarray(a).save("%s/%d.png" % (sys.argv[1], i))
    with open("%s/info.txt" % sys.argv[1], "a") as f:
        f.write("%s %s %s %s %s\n" % (ds.Rows, ds.Columns, ds.Modality, ds.SOPInstanceUID, ds.StudyInstanceUID))
PY
pngs=(); for k in "${!dcms[@]}"; do pngs+=("$work/dcm/$k.png"); done
run "embed-image .dcm" "$CLI" embed-image --model "$MODEL" "${dcms[@]}" --out "$work/dcm/dcm.npy" &&
    run "embed-image PNGs of pydicom's display" "$CLI" embed-image --model "$MODEL" "${pngs[@]}" --out "$work/dcm/png.npy" &&
    compare "embed-image .dcm = PNG of pydicom's display" same "$work/dcm/dcm.npy" "$work/dcm/png.npy" 0
run "classify .dcm" "$CLI" classify --model "$MODEL" "$dcm/CT_small.dcm" --labels "$own_labels" >"$work/dcm/classify.jsonl" &&
    { grep -q "CT_small.dcm" "$work/dcm/classify.jsonl" && pass "classify CT_small.dcm" || flunk "classify .dcm: $(head -c 200 "$work/dcm/classify.jsonl")"; }
run "dicom-info" "$CLI" dicom-info "${dcms[@]}" >"$work/dcm/info.jsonl" &&
    { $PYTHON -c '
import json, sys
got = [json.loads(l) for l in open(sys.argv[1])]
want = [l.split() for l in open(sys.argv[2])]
bad = [g["file"] for g, w in zip(got, want)
       if [str(g["rows"]), str(g["columns"]), g["modality"], g["sop_instance_uid"], g["study_instance_uid"]] != w]
sys.exit(1 if bad or len(got) != len(want) else 0)' "$work/dcm/info.jsonl" "$work/dcm/info.txt" &&
      pass "dicom-info agrees with pydicom" || flunk "dicom-info: $(head -c 300 "$work/dcm/info.jsonl")"; }
refuse "dicom-info of a non-DICOM file" 1 "not a DICOM file" "$CLI" dicom-info "$dcm/README.txt"

# --frames all, --frame N, --window and --rescale: the rows equal the PNGs of pydicom's display
# of each frame (rtdose.dcm: 15 frames, each stretched over its own min..max), and of CT_small
# with the caller's window, and with the caller's rescale and window, in place of the file's.
mkdir -p "$work/dcmopt"
$PYTHON - "$work/dcmopt" "$dcm" <<'PY'
import sys, warnings, numpy as np, pydicom
from PIL import Image
from pydicom.pixel_data_handlers.util import apply_voi_lut
warnings.simplefilter("ignore")
out, folder = sys.argv[1:]
def shown(values, window=None):
    if window is None:
        y = (values - values.min()) * 255.0 / (values.max() - values.min())
    else:
        view = pydicom.Dataset(); view.PhotometricInterpretation = "MONOCHROME2"
        view.BitsStored = 8; view.PixelRepresentation = 0
        view.WindowCenter, view.WindowWidth = window
        y = apply_voi_lut(values, view)
    return np.clip(np.floor(y + 0.5), 0, 255).astype(np.uint8)
dose = pydicom.dcmread(folder + "/rtdose.dcm").pixel_array.astype(np.float64)
for f in range(dose.shape[0]):
    Image.fromarray(shown(dose[f])).save("%s/rtdose_%02d.png" % (out, f))
ct = pydicom.dcmread(folder + "/CT_small.dcm")
stored = ct.pixel_array.astype(np.float64)
Image.fromarray(shown(stored * float(ct.RescaleSlope) + float(ct.RescaleIntercept), (300, 1500))).save(out + "/ct_window.png")
Image.fromarray(shown(stored * 2.0 - 3000.0, (40, 400))).save(out + "/ct_rescale_window.png")
PY
run "embed-image --frames all" "$CLI" embed-image --model "$MODEL" "$dcm/rtdose.dcm" --frames all --out "$work/dcmopt/all.npy" &&
    run "embed-image PNGs of the 15 frames" "$CLI" embed-image --model "$MODEL" "$work"/dcmopt/rtdose_*.png --out "$work/dcmopt/all_png.npy" &&
    compare "--frames all = PNGs of pydicom's frames" same "$work/dcmopt/all.npy" "$work/dcmopt/all_png.npy" 0
run "embed-image --frame 7" "$CLI" embed-image --model "$MODEL" "$dcm/rtdose.dcm" --frame 7 --out "$work/dcmopt/f7.npy" &&
    run "embed-image PNG of frame 7" "$CLI" embed-image --model "$MODEL" "$work/dcmopt/rtdose_07.png" --out "$work/dcmopt/f7_png.npy" &&
    compare "--frame 7 = PNG of pydicom's frame 7" same "$work/dcmopt/f7.npy" "$work/dcmopt/f7_png.npy" 0
run "embed-image --window" "$CLI" embed-image --model "$MODEL" "$dcm/CT_small.dcm" --window 300,1500 --out "$work/dcmopt/w.npy" &&
    run "embed-image PNG with that window" "$CLI" embed-image --model "$MODEL" "$work/dcmopt/ct_window.png" --out "$work/dcmopt/w_png.npy" &&
    compare "--window = pydicom's apply_voi_lut with it" same "$work/dcmopt/w.npy" "$work/dcmopt/w_png.npy" 0
run "embed-image --rescale --window" "$CLI" embed-image --model "$MODEL" "$dcm/CT_small.dcm" --rescale 2,-3000 --window 40,400 --out "$work/dcmopt/rw.npy" &&
    run "embed-image PNG with that rescale and window" "$CLI" embed-image --model "$MODEL" "$work/dcmopt/ct_rescale_window.png" --out "$work/dcmopt/rw_png.npy" &&
    compare "--rescale replaces the file's" same "$work/dcmopt/rw.npy" "$work/dcmopt/rw_png.npy" 0
run "classify --frames all" "$CLI" classify --model "$MODEL" "$dcm/rtdose.dcm" "$dcm/CT_small.dcm" --frames all --labels "$own_labels" >"$work/dcmopt/classify.jsonl" &&
    { [ "$(grep -c '"image": ".*rtdose.dcm#[0-9]*"' "$work/dcmopt/classify.jsonl")" = 15 ] &&
      grep -q '"image": ".*CT_small.dcm#0"' "$work/dcmopt/classify.jsonl" &&
      [ "$(wc -l <"$work/dcmopt/classify.jsonl")" = 16 ] &&
      pass "classify --frames all: a row per frame, named FILE#N" || flunk "classify --frames all: $(head -c 300 "$work/dcmopt/classify.jsonl")"; }
refuse "--frame out of range" 1 "frame 5 of 1" "$CLI" classify --model "$MODEL" "$dcm/CT_small.dcm" --frame 5 --labels a,b
refuse "--frames other than all" 2 "takes 'all'" "$CLI" classify --model "$MODEL" "$dcm/CT_small.dcm" --frames 2 --labels a,b
refuse "--frame and --frames" 2 "exclude each other" "$CLI" embed-image --model "$MODEL" "$dcm/CT_small.dcm" --frame 1 --frames all --out "$work/dcmopt/x.npy"
refuse "--window without DICOM or --pixels" 2 "none was given" "$CLI" embed-image --model "$MODEL" "${images[0]}" --window 40,400 --out "$work/dcmopt/x.npy"
refuse "--frames all of a file without an image" 1 "no image" "$CLI" embed-image --model "$MODEL" "$dcm/rtplan.dcm" --frames all --out "$work/dcmopt/x.npy"
# A composed query's image may be raw pixels: the same as the 8-bit PNG they make.
run "index build (for --pixels composed)" "$CLI" index build --model "$MODEL" "${images[@]}" --out "$work/px/images.bmcidx" &&
    run "composed --pixels" "$CLI" index search --model "$MODEL" --index "$work/px/images.bmcidx" --pixels "$work/px/s16_ct.raw" \
        "${pargs[@]}" --text "a CT slice" --top 3 >"$work/px/composed_raw.jsonl" &&
    run "composed --image PNG" "$CLI" index search --model "$MODEL" --index "$work/px/images.bmcidx" --image "$work/px/s16_ct.png" \
        --text "a CT slice" --top 3 >"$work/px/composed_png.jsonl" &&
    { [ "$(sed 's/"image": "[^"]*"//' "$work/px/composed_raw.jsonl")" = "$(sed 's/"image": "[^"]*"//' "$work/px/composed_png.jsonl")" ] \
        && pass "composed query: --pixels = the PNG of the expected image" \
        || flunk "composed query: --pixels $(head -c 300 "$work/px/composed_raw.jsonl") vs PNG $(head -c 300 "$work/px/composed_png.jsonl")"; }

# ---- index --------------------------------------------------------------------------------------
printf '%s\n' "${images[@]}" >"$work/image_names.txt"
run "index build (images)" "$CLI" index build --model "$MODEL" "${images[@]}" --out "$work/images.bmcidx" &&
    run "index info" "$CLI" index info --index "$work/images.bmcidx" >"$work/info.txt" &&
    { [ "$(tr '\n' ' ' <"$work/info.txt")" = "entries $n dim $dim storage f32 " ] && pass "index info: $(tr '\n' ' ' <"$work/info.txt")" \
        || flunk "index info: $(cat "$work/info.txt")"; }
run "index search --texts" "$CLI" index search --model "$MODEL" --index "$work/images.bmcidx" --texts --top 3 \
        <"$FIXTURES/texts.txt" >"$work/search.jsonl" &&
    compare "index search texts -> images vs reference" search "$work/search.jsonl" "$FIXTURES/text_embeddings_padded.f32" \
        "$FIXTURES/image_embeddings.f32" "$dim" 3 1e-5 "$FIXTURES/texts.txt" "$work/image_names.txt"
# A caption bank (entries from stdin, float16 storage) searched with images.
run "index build --texts --storage f16" "$CLI" index build --model "$MODEL" --texts --storage f16 --batch 4 \
        --out "$work/captions.bmcidx" <"$FIXTURES/texts.txt" &&
    run "index search (images)" "$CLI" index search --model "$MODEL" --index "$work/captions.bmcidx" --top 20 \
        "${images[@]}" >"$work/captions.jsonl" &&
    compare "index search images -> f16 captions vs reference" search "$work/captions.jsonl" "$FIXTURES/image_embeddings.f32" \
        "$FIXTURES/text_embeddings_padded.f32" "$dim" 20 1e-3 "$work/image_names.txt" "$FIXTURES/texts.txt"
run "index build --texts --storage bf16" "$CLI" index build --model "$MODEL" --texts --storage bf16 --batch 4 \
        --out "$work/captions16.bmcidx" <"$FIXTURES/texts.txt" &&
    run "index info (bf16)" "$CLI" index info --index "$work/captions16.bmcidx" >"$work/info16.txt" &&
    { grep -qx "storage bf16" "$work/info16.txt" && pass "index info says bf16" || flunk "index info: $(cat "$work/info16.txt")"; } &&
    run "index search (images, bf16 bank)" "$CLI" index search --model "$MODEL" --index "$work/captions16.bmcidx" --top 20 \
        "${images[@]}" >"$work/captions16.jsonl" &&
    compare "index search images -> bf16 captions vs reference" search "$work/captions16.jsonl" "$FIXTURES/image_embeddings.f32" \
        "$FIXTURES/text_embeddings_padded.f32" "$dim" 20 2e-2 "$work/image_names.txt" "$FIXTURES/texts.txt"
# Composed queries (image + text -> image) against numpy on the tool's own embeddings.
printf '%s\n' "a chest X-ray showing pneumothorax" >"$work/composed_text.txt"
run "embed-text of the composed text" "$CLI" embed-text --model "$MODEL" --out "$work/composed_text.npy" <"$work/composed_text.txt"
for weight in 0 0.3 1; do
    run "index search --image --text --text-weight $weight" "$CLI" index search --model "$MODEL" \
            --index "$work/images.bmcidx" --image "${images[2]}" --text "$(cat "$work/composed_text.txt")" \
            --text-weight "$weight" --top 4 >"$work/composed_$weight.jsonl" &&
        compare "composed search, weight $weight, vs numpy" composed "$work/composed_$weight.jsonl" "${images[2]}" \
            "$work/img.npy" 2 "$(cat "$work/composed_text.txt")" "$work/composed_text.npy" "$weight" 4 "$work/image_names.txt"
done
run "index search --image --text (default weight)" "$CLI" index search --model "$MODEL" --index "$work/images.bmcidx" \
        --image "${images[2]}" --text "$(cat "$work/composed_text.txt")" --top 4 >"$work/composed_default.jsonl" &&
    compare "composed search, default weight 0.5, vs numpy" composed "$work/composed_default.jsonl" "${images[2]}" \
        "$work/img.npy" 2 "$(cat "$work/composed_text.txt")" "$work/composed_text.npy" 0.5 4 "$work/image_names.txt"
refuse "--text-weight out of range" 2 "--text-weight" "$CLI" index search --model "$MODEL" --index "$work/images.bmcidx" \
    --image "${images[0]}" --text x --text-weight 1.5
refuse "--image without --text" 2 "needs --text" "$CLI" index search --model "$MODEL" --index "$work/images.bmcidx" --image "${images[0]}"
refuse "--text with --texts" 2 "--texts" "$CLI" index search --model "$MODEL" --index "$work/images.bmcidx" --text x --texts
refuse "--text with two images" 2 "one image" "$CLI" index search --model "$MODEL" --index "$work/images.bmcidx" \
    --text x "${images[0]}" "${images[1]}"
refuse "index build --text" 2 "for search" "$CLI" index build --model "$MODEL" --text x "${images[0]}" --out "$work/x.bmcidx"
refuse "index search of a missing index" 1 "noindex.bmcidx" "$CLI" index search --model "$MODEL" --index "$work/noindex.bmcidx" "${images[0]}"
head -c 100 "$work/images.bmcidx" >"$work/truncated.bmcidx"
refuse "index info of a truncated index" 1 "truncated.bmcidx" "$CLI" index info --index "$work/truncated.bmcidx"
refuse "index without an action" 2 "expected build, search, info or manifest" "$CLI" index
refuse "index build without inputs" 2 "give images" "$CLI" index build --model "$MODEL" --out "$work/x.bmcidx"
refuse "index build --storage" 2 "--storage" "$CLI" index build --model "$MODEL" --storage f64 "${images[0]}" --out "$work/x.bmcidx"
# An index set: the caption bank built as two shards with distinct ids (--first-id) searches as
# the bank built whole (byte-identical output) and as the numpy reference; so does its manifest.
# --batch 1: a text's embedding then does not depend on the others in its batch (batches are
# padded to their longest text), so the shards hold exactly the whole bank's vectors.
half=$((ntexts / 2))
run "index build (whole bank)" "$CLI" index build --model "$MODEL" --texts --batch 1 --out "$work/bank.bmcidx" \
        <"$FIXTURES/texts.txt" &&
    run "index build (shard 0)" "$CLI" index build --model "$MODEL" --texts --batch 1 --out "$work/bank-0.bmcidx" \
        < <(head -n "$half" "$FIXTURES/texts.txt") &&
    run "index build (shard 1, --first-id)" "$CLI" index build --model "$MODEL" --texts --batch 1 --first-id "$half" \
        --out "$work/bank-1.bmcidx" < <(tail -n +"$((half + 1))" "$FIXTURES/texts.txt") &&
    run "index search (whole bank)" "$CLI" index search --model "$MODEL" --index "$work/bank.bmcidx" --top 7 \
        "${images[@]}" >"$work/bank.jsonl" &&
    run "index search --index --index" "$CLI" index search --model "$MODEL" --index "$work/bank-0.bmcidx" \
        --index "$work/bank-1.bmcidx" --top 7 "${images[@]}" >"$work/set.jsonl" &&
    compare "index search of two shards vs reference" search "$work/set.jsonl" "$FIXTURES/image_embeddings.f32" \
        "$FIXTURES/text_embeddings_padded.f32" "$dim" 7 1e-5 "$work/image_names.txt" "$FIXTURES/texts.txt" &&
    { cmp -s "$work/bank.jsonl" "$work/set.jsonl" && pass "index search of two shards = of the whole bank" \
        || flunk "index search of two shards differs from the whole bank"; } &&
    run "index manifest" "$CLI" index manifest --out "$work/bank.bmcset" bank-0.bmcidx bank-1.bmcidx &&
    run "index search --manifest" "$CLI" index search --model "$MODEL" --manifest "$work/bank.bmcset" --top 7 \
        "${images[@]}" >"$work/manifest.jsonl" &&
    { cmp -s "$work/bank.jsonl" "$work/manifest.jsonl" && pass "index search --manifest = of the whole bank" \
        || flunk "index search --manifest differs from the whole bank"; } &&
    run "index info --manifest" "$CLI" index info --manifest "$work/bank.bmcset" >"$work/setinfo.txt" &&
    { [ "$(tr '\n' ' ' <"$work/setinfo.txt")" = "entries $ntexts dim $dim storage f32 shards 2 " ] \
        && pass "index info --manifest: $(tr '\n' ' ' <"$work/setinfo.txt")" || flunk "index info: $(cat "$work/setinfo.txt")"; }
refuse "index search of shards sharing ids" 1 "unique" "$CLI" index search --model "$MODEL" --index "$work/bank-0.bmcidx" \
    --index "$work/bank.bmcidx" "${images[0]}"
cp "$work/bank-0.bmcidx" "$work/bank-1.bmcidx"
refuse "index search --manifest with a replaced shard" 1 "bank-1.bmcidx" "$CLI" index search --model "$MODEL" \
    --manifest "$work/bank.bmcset" "${images[0]}"
refuse "index search with --index and --manifest" 2 "--manifest" "$CLI" index search --model "$MODEL" \
    --index "$work/bank.bmcidx" --manifest "$work/bank.bmcset" "${images[0]}"
refuse "index build --first-id -1" 2 "--first-id" "$CLI" index build --model "$MODEL" --first-id -1 "${images[0]}" --out "$work/x.bmcidx"
refuse "index manifest without shards" 2 "shard files" "$CLI" index manifest --out "$work/x.bmcset"

# ---- eval-captions --------------------------------------------------------------------------------
metrics=${BMC_FIXTURES:-$BUILD/fixtures}/metrics
if [ -f "$metrics/expected.tsv" ]; then
    runs=()
    for s in 0 1 2 3 4; do
        run "eval-captions --smoothing $s" "$CLI" eval-captions --per-candidate --smoothing "$s" \
            "$metrics/candidates.txt" "$metrics/references.txt" >"$work/captions-$s.json" || break
        runs+=("$work/captions-$s.json")
    done
    [ ${#runs[@]} -eq 5 ] && compare "eval-captions vs nltk (metrics fixtures)" captions "$metrics/expected.tsv" "${runs[@]}"
    run "caption_eval" "$BUILD/examples/caption_eval" --exact --per-caption "$metrics/candidates.txt" \
            "$metrics/references.txt" >"$work/caption_eval.txt" &&
        compare "eval-captions ROUGE-L, CIDEr-D vs the library" captions-lib "$work/captions-0.json" \
            "$work/caption_eval.txt" ROUGE-L CIDEr-D
    run "eval-captions --metrics" "$CLI" eval-captions --metrics cider-d,BLEU-2 "$metrics/candidates.txt" \
            "$metrics/references.txt" >"$work/two.json" &&
        { grep -qE '^\{"corpus": \{"BLEU-2": [0-9.e-]+, "CIDEr-D": [0-9.e-]+\}\}$' "$work/two.json" \
            && pass "eval-captions --metrics selects: $(cat "$work/two.json")" || flunk "eval-captions --metrics: $(cat "$work/two.json")"; }
else
    flunk "missing $metrics (make fixtures)"
fi
printf 'one\ntwo\n' >"$work/cand.txt"; printf 'one ref\n' >"$work/refs1.txt"; printf 'a\t\t\nb\n' >"$work/refs2.txt"
printf 'a\t\n\t\n' >"$work/refs_empty.txt"; printf 'ok\nbad \xff\n' >"$work/cand_bad.txt"
refuse "eval-captions line counts" 1 "has 2 lines" "$CLI" eval-captions "$work/cand.txt" "$work/refs1.txt"
refuse "eval-captions without references" 1 "candidate 1" "$CLI" eval-captions "$work/cand.txt" "$work/refs_empty.txt"
refuse "eval-captions invalid UTF-8" 1 "UTF-8" "$CLI" eval-captions "$work/cand_bad.txt" "$work/refs2.txt"
refuse "eval-captions unknown metric" 2 "unknown metric 'bleu'" "$CLI" eval-captions --metrics bleu "$work/cand.txt" "$work/refs2.txt"
refuse "eval-captions --smoothing" 2 "--smoothing" "$CLI" eval-captions --smoothing 5 "$work/cand.txt" "$work/refs2.txt"
refuse "eval-captions missing file" 1 "nocand.txt" "$CLI" eval-captions "$work/nocand.txt" "$work/refs2.txt"

# ---- errors --------------------------------------------------------------------------------------
refuse "missing image" 1 "missing.png" "$CLI" embed-image --model "$MODEL" "${images[0]}" "$work/missing.png" --out "$work/e1.npy"
[ ! -e "$work/e1.npy" ] && pass "no output file left after a failure" || flunk "a failed run left $work/e1.npy"
head -c 300 "${images[0]}" >"$work/truncated.png"
refuse "truncated image" 1 "truncated.png" "$CLI" preprocess "$work/truncated.png" --out "$work/e2.npy"
printf 'not an image' >"$work/text.png"
refuse "not an image" 1 "not a PNG, JPEG or DICOM" "$CLI" classify --model "$MODEL" "$work/text.png" --labels a,b
refuse "missing model" 1 "nomodel.bmc.pt" "$CLI" embed-text --model "$work/nomodel.bmc.pt" --out "$work/e3.npy"
refuse "bundle of a newer version" 1 "version" "$CLI" embed-image --model "$FIXTURES/broken/bad_version.bmc.pt" "${images[0]}" --out "$work/e4.npy"
refuse "missing vocabulary" 1 "novocab.txt" "$CLI" tokenize --vocab "$work/novocab.txt"
printf 'good line\nbad \xff byte\n' >"$work/bad_utf8.txt"
refuse "invalid UTF-8" 1 "line 2" sh -c "\"$CLI\" tokenize --vocab $VOCAB <\"$work/bad_utf8.txt\" >/dev/null"
refuse "raw file of the wrong size" 1 "describe" "$CLI" preprocess --pixels "$work/px/s16_ct.raw" --width 10 --height 10 --type u16 --out "$work/e5.npy"
refuse "missing raw file" 1 "nopixels.raw" "$CLI" preprocess --pixels "$work/nopixels.raw" --width 10 --height 10 --type u16 --out "$work/e6.npy"
refuse "bad window" 1 "window" "$CLI" preprocess --pixels "$work/px/u16_window.raw" --width 224 --height 224 --type u16 --window 100,0 --out "$work/e7.npy"
refuse "--pixels without geometry" 2 "needs --width" "$CLI" preprocess --pixels "$work/px/s16_ct.raw" --out "$work/e8.npy"
refuse "pixel options without --pixels" 2 "--pixels" "$CLI" preprocess "${images[0]}" --width 3 --out "$work/e9.npy"
refuse "unknown type" 2 "--type" "$CLI" preprocess --pixels "$work/px/s16_ct.raw" --width 300 --height 250 --type u32 --out "$work/e10.npy"
refuse "unknown option" 2 "unknown option '--bogus'" "$CLI" preprocess --bogus "${images[0]}"
refuse "missing --out" 2 "--out" "$CLI" embed-image --model "$MODEL" "${images[0]}"
refuse "no images" 2 "no images" "$CLI" preprocess --out "$work/e11.npy"
refuse "missing option value" 2 "needs a value" "$CLI" classify --model "$MODEL" "${images[0]}" --labels
refuse "bad --dtype" 2 "--dtype" "$CLI" embed-image --model "$MODEL" --dtype f64 "${images[0]}" --out "$work/e12.npy"
refuse "bad --batch" 2 "--batch" "$CLI" embed-text --model "$MODEL" --batch 0 --out "$work/e13.npy"
refuse "bad --top" 2 "--top" "$CLI" classify --model "$MODEL" "${images[0]}" --labels a,b --top 3
refuse "empty label" 2 "empty label" "$CLI" classify --model "$MODEL" "${images[0]}" --labels a,,b
refuse "template without {}" 1 "{}" sh -c "echo 'no placeholder' >\"$work/tpl.txt\"; \"$CLI\" classify --model \"$MODEL\" \"${images[0]}\" --labels a,b --templates \"$work/tpl.txt\""
refuse "--vocab and --model" 2 "either" "$CLI" tokenize --vocab "$VOCAB" --model "$MODEL"
refuse "no texts" 1 "no texts" "$CLI" embed-text --model "$MODEL" --out "$work/e14.npy"
refuse "unknown command" 2 "unknown command" "$CLI" embed
refuse "unwritable output" 1 "cannot create" "$CLI" preprocess "${images[0]}" --out "$work/no/such/dir/x.npy"

# ---- install --------------------------------------------------------------------------------------
# make install puts the tool in BINDIR, where it finds the library relative to itself.
stage=$work/stage
if ${MAKE:-make} -s BUILD="$BUILD" install DESTDIR="$stage" PREFIX=/usr >"$work/install.log" 2>&1 &&
    [ "$("$stage/usr/bin/biomedclip" --version 2>&1)" = "$("$CLI" --version)" ]; then
    pass "installed tool runs: $stage/usr/bin/biomedclip --version"
else
    rm -f "$work/err"; flunk "make install: $(tail -n 3 "$work/install.log")"
fi
${MAKE:-make} -s BUILD="$BUILD" uninstall DESTDIR="$stage" PREFIX=/usr >/dev/null 2>&1
[ ! -e "$stage/usr/bin/biomedclip" ] && pass "make uninstall removes the tool" || flunk "make uninstall left the tool"

echo "cli: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
