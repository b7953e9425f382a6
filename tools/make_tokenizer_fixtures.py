#!/usr/bin/env python3
"""Fixtures of the tokenizer's parity checks (tests/check_tokenizer_parity.sh).

Usage: /usr/bin/python3 tools/make_tokenizer_fixtures.py OUTDIR

Writes, deterministically (fixed seed), one text per line with backslash, LF and CR escaped as
\\\\, \\n and \\r:
  corpus.txt            >= 20,000 texts for the differential test against the Hugging Face
                        tokenizers: medical captions and reports in many languages, accents, CJK,
                        emoji, controls, punctuation and symbols of every category, long words,
                        every kind of whitespace, special-token look-alikes, random strings;
  unescape.txt          HTML character reference cases, and unescape.expected.txt from Python's
                        html.unescape();
  clean.txt             cleaning cases, and clean.expected.txt from the reference below.

The cleaning reference is open_clip's clean='whitespace' written with Python's own primitives:
html.unescape, unicodedata.normalize, re's \\s, str.strip. ftfy itself cannot be installed here,
so its deterministic fixes are restated from its source (ftfy 6.x: fixes.py, chardata.py) in
`ftfy_fix_text` below; its mojibake heuristics (fix_encoding) are left out, as in the library.
"""
import html
import html.entities
import os
import random
import re
import sys
import unicodedata

SEED = 20240607

# ---- the cleaning reference ---------------------------------------------------------------


def _ftfy_entities():
    entities = {}
    for name, char in html.entities.html5.items():
        if name.endswith(";"):
            entities["&" + name] = char
            if name == name.lower():
                upper = "&" + name.upper()
                if html.unescape(upper) == upper:
                    entities[upper] = char.upper()
    return entities


FTFY_ENTITIES = _ftfy_entities()
FTFY_ENTITY_RE = re.compile(r"&#?[0-9A-Za-z]{1,24};")


def _ftfy_unescape_one(match):
    text = match.group(0)
    if text in FTFY_ENTITIES:
        return FTFY_ENTITIES[text]
    if text.startswith("&#"):
        unescaped = html.unescape(text)
        return text if ";" in unescaped else unescaped
    return text


def _c1(match):
    b = match.group(0).encode("latin-1")
    try:
        return b.decode("cp1252")
    except UnicodeDecodeError:
        return match.group(0)


LIGATURES = {0x132: "IJ", 0x133: "ij", 0x149: "\u02bcn", 0x1F1: "DZ", 0x1F2: "Dz", 0x1F3: "dz",
             0x1C4: "D\u017d", 0x1C5: "D\u017e", 0x1C6: "d\u017e", 0x1C7: "LJ", 0x1C8: "Lj",
             0x1C9: "lj", 0x1CA: "NJ", 0x1CB: "Nj", 0x1CC: "nj", 0xFB00: "ff", 0xFB01: "fi",
             0xFB02: "fl", 0xFB03: "ffi", 0xFB04: "ffl", 0xFB05: "\u017ft", 0xFB06: "st"}
WIDTH = {0x3000: " "}
for _i in range(0xFF01, 0xFFF0):
    if unicodedata.normalize("NFKC", chr(_i)) != chr(_i):
        WIDTH[_i] = unicodedata.normalize("NFKC", chr(_i))
CONTROLS = {i: None for i in [*range(0, 9), 0x0B, *range(0x0E, 0x20), 0x7F, *range(0x206A, 0x2070),
                              0xFEFF, *range(0xFFF9, 0xFFFD)]}
ANSI_RE = re.compile("\033\\[((?:\\d|;)*)([a-zA-Z])")


def _fix_segment(text, unescape):
    while True:
        orig = text
        if unescape:
            text = FTFY_ENTITY_RE.sub(_ftfy_unescape_one, text)
        text = re.sub(r"[\x80-\x9f]", _c1, text)
        text = text.translate(LIGATURES).translate(WIDTH)
        text = re.sub("[\u201c-\u201f]", '"', text)
        text = re.sub("[\u02bc\u2018-\u201b]", "'", text)
        text = (text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n")
                .replace("\u2029", "\n").replace("\u0085", "\n"))
        text = ANSI_RE.sub("", text)
        text = text.translate(CONTROLS)
        text = unicodedata.normalize("NFC", text)
        if text == orig:
            return text


def ftfy_fix_text(text):
    out, pos, unescape = [], 0, True
    while pos < len(text):
        end = text.find("\n", pos) + 1 or len(text)
        end = min(end, pos + 1000000)
        segment = text[pos:end]
        if "<" in segment:
            unescape = False
        out.append(_fix_segment(segment, unescape))
        pos = end
    return "".join(out)


def open_clip_clean(text):
    text = html.unescape(html.unescape(ftfy_fix_text(text))).strip()
    return re.sub(r"\s+", " ", text).strip()

# ---- corpora --------------------------------------------------------------------------------


MODALITIES = ["chest X-ray", "CT scan", "MRI", "ultrasound image", "H&E-stained histology slide",
              "fundus photograph", "dermoscopy image", "PET-CT", "mammogram", "echocardiogram"]
FINDINGS = ["pneumothorax", "pleural effusion", "cardiomegaly", "consolidation in the right lower lobe",
            "a 3.2 cm hepatic lesion", "no acute abnormality", "ground-glass opacities (bilateral)",
            "adenocarcinoma, moderately differentiated", "diabetic retinopathy; microaneurysms",
            "melanoma in situ", "T2-hyperintense lesion, 5×7 mm", "fracture of the distal radius",
            "Hounsfield units ≈ 45 HU", "SUVmax=12.4", "BI-RADS 4", "EF 35–40%", "glioblastoma (WHO grade IV)"]
SENTENCES = [
    "Radiographie thoracique: épanchement pleural droit, pas de pneumothorax.",
    "Röntgen-Thorax: Kardiomegalie, Stauungszeichen; keine Infiltrate.",
    "Tomografía computarizada: nódulo pulmonar de 8 mm en el lóbulo superior.",
    "Ressonância magnética: lesão hiperintensa em T2, sem realce após contraste.",
    "Radiografia del torace: addensamento parenchimale basale sinistro.",
    "Рентгенограмма грудной клетки: признаки пневмонии справа.",
    "ΑΚΤΙΝΟΓΡΑΦΙΑ ΘΩΡΑΚΟΣ: ΠΛΕΥΡΙΤΙΚΗ ΣΥΛΛΟΓΗ ΣΤΗ ΒΑΣΗ.",
    "Ακτινογραφία θώρακος χωρίς παθολογικά ευρήματα.",
    "胸部X线片显示右下肺野斑片状阴影，考虑肺炎。",
    "胸部CT：左肺上葉に結節影を認める。経過観察を推奨。",
    "흉부 X선: 우측 늑막 삼출, 기흉 없음.",
    "الأشعة السينية للصدر: انصباب جنبي أيمن.",
    "छाती का एक्स-रे: दाहिने फेफड़े में निमोनिया।",
    "Akciğer grafisi: İnfiltrasyon yok, kalp boyutları normal. İSTANBUL ıIİi",
    "Hình ảnh X-quang ngực: tràn dịch màng phổi bên phải.",
    "ภาพเอกซเรย์ทรวงอก: ไม่พบความผิดปกติ",
    "צילום חזה: ללא ממצאים חריגים.",
    "Rtg klatki piersiowej: zmiany śródmiąższowe, płyn w jamie opłucnej.",
    "Naïve café résumé – coöperate, façade, jalapeño, Ångström, Øresund, Œdème, ß, ﬁbrosis",
]
EMOJI = ["🙂", "🫁", "🧠", "🦴", "👩‍⚕️", "🇺🇸", "🏴󠁧󠁢󠁷󠁬󠁳󠁿", "❤️", "👍🏽", "🩻", "🥰", "\u2764\ufe0f"]
SPACES = ["\t", "\n", "\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x1f", "\x85", "\xa0", "\u1680",
          "\u2000", "\u2001", "\u2002", "\u2003", "\u2004", "\u2005", "\u2006", "\u2007", "\u2008",
          "\u2009", "\u200a", "\u2028", "\u2029", "\u202f", "\u205f", "\u3000", "\u200b", "\ufeff",
          "\u180e", "  "]
CONTROLS_SAMPLE = [chr(c) for c in [*range(0, 32), 0x7F, *range(0x80, 0xA0), 0xAD, 0x600, 0x61C, 0x200B,
                                    0x200C, 0x200D, 0x200E, 0x202A, 0x2060, 0x2066, 0xFEFF, 0xFFF9,
                                    0xFFFC, 0xFFFD, 0xE000, 0xF8FF, 0xF0000, 0x10FFFD, 0xE0001, 0xE0041,
                                    0x1D173, 0x110BD]]
SPECIALS = ["[CLS]", "[SEP]", "[PAD]", "[UNK]", "[MASK]", "[cls]", "[Mask]", "[MASK", "MASK]", "[[SEP]]"]
CJK = "肺炎影像诊断心脏肝脏肿瘤医学检查結節所見" + "".join(chr(c) for c in [0x3400, 0x4DBF, 0x9FFF, 0xF900, 0xFA6D, 0x20000, 0x2A6DF, 0x2A700, 0x2B740, 0x2B820, 0x2CEAF, 0x2F800, 0x2FA1D, 0x30000])


def by_category(prefixes):
    chars = [chr(c) for c in range(0x110000)
             if not 0xD800 <= c <= 0xDFFF and unicodedata.category(chr(c))[:len(prefixes[0])] in prefixes]
    return chars


def random_code_point(rng):
    while True:
        plane = rng.choice([0, 0, 0, 0, 1, 1, 2, 3, 14, 15, 16])
        c = plane * 0x10000 + rng.randrange(0x10000)
        if not 0xD800 <= c <= 0xDFFF:
            return chr(c)


def corpus(rng):
    punct = by_category(["P"])
    symbols = by_category(["S"])
    marks = by_category(["M"])
    letters = by_category(["L"])
    numbers = by_category(["N"])
    lines = []
    # medical captions and reports
    for _ in range(5000):
        m, f = rng.choice(MODALITIES), rng.choice(FINDINGS)
        t = rng.choice(["a {m} showing {f}", "{M} of a patient with {f}.", "Findings: {f}. Impression: {f}!",
                        "{m}: {f}; compare with prior study (2019-03-04).", "This is a photo of {f}"])
        text = t.format(m=m, f=f, M=m.upper())
        if rng.random() < 0.3:
            text = text.upper()
        lines.append(text)
    for _ in range(2500):
        lines.append(" ".join(rng.choice(SENTENCES) for _ in range(rng.randint(1, 3))))
    # accents: precomposed and combining sequences
    for _ in range(1500):
        word = "".join(rng.choice("aeiouAEIOUnNcCsSzZyY") + "".join(rng.choice(marks) for _ in range(rng.randint(0, 3)))
                       for _ in range(rng.randint(1, 12)))
        lines.append(word + " " + unicodedata.normalize(rng.choice(["NFC", "NFD", "NFKC", "NFKD"]), word))
    # CJK, emoji, special tokens
    for _ in range(1500):
        parts = [rng.choice([rng.choice(CJK), rng.choice(EMOJI), rng.choice(SPECIALS), "lung", "x", "CT",
                             rng.choice(SENTENCES)[:10]]) for _ in range(rng.randint(1, 10))]
        lines.append(rng.choice(["", " "]).join(parts))
    # controls and whitespace of every kind
    for _ in range(2000):
        parts = []
        for _ in range(rng.randint(1, 12)):
            parts.append(rng.choice(["pleural", "effusion", "Ab", "ß", "é", "9", "-"]))
            parts.append(rng.choice(SPACES + CONTROLS_SAMPLE))
        lines.append("".join(parts))
    # punctuation and symbols of every category, next to letters and numbers
    for _ in range(3000):
        lines.append("".join(rng.choice([rng.choice(punct), rng.choice(symbols), rng.choice(letters),
                                         rng.choice(numbers), " "]) for _ in range(rng.randint(1, 20))))
    # long words: around the 100-character limit, and long texts for truncation
    for n in [98, 99, 100, 101, 102, 150, 500]:
        for unit in ["a", "é", "肺", "ab", "x\u0301", "🙂", "pneumonia"]:
            lines.append((unit * n)[: n if len(unit) == 1 else None] + " end")
    for _ in range(300):
        lines.append(" ".join(rng.choice(FINDINGS) for _ in range(rng.randint(30, 200))))
    # random strings over the whole code space, and over interesting subsets
    for _ in range(4500):
        pool = rng.choice([None, punct, symbols, marks, letters, CONTROLS_SAMPLE, SPACES])
        chars = [random_code_point(rng) if pool is None else rng.choice(pool) for _ in range(rng.randint(1, 30))]
        if rng.random() < 0.5:
            chars.insert(rng.randrange(len(chars) + 1), rng.choice(["word", "Word", " ", "##s", "[SEP]"]))
        lines.append("".join(chars))
    lines += ["", " ", "\n", "[CLS]", "[SEP][SEP]", "x" * 20000, ("lung " * 400).strip()]
    return lines


def unescape_cases(rng):
    names = sorted(html.entities.html5)
    cases = ["&amp;", "&amp", "&AMP;", "&ampx", "&amp;lt;", "&lt&gt", "&notin;", "&notit;", "&not;in",
             "&#65;", "&#x41;", "&#X41", "&#0;", "&#13;", "&#128;", "&#129;", "&#x9F;", "&#xD800;",
             "&#xDFFF;", "&#x10FFFF;", "&#x110000;", "&#99999999999999999999;", "&#1;", "&#x7f;",
             "&#xFDD0;", "&#xFFFE;", "&#x10FFFE;", "&#11;", "&#", "&#x", "&#xg;", "&#;", "&;", "&",
             "& amp;", "&\tamp;", "&a;", "&aa", "&AElig", "&AEligx", "&abcdefghijklmnopqrstuvwxyz0123456789;",
             "&Eacute;&eacute;&EACUTE;", "&nbsp;x", "&#x41;&#66;&#x43", "a&b&c;", "&lt;tag&gt;",
             "&ns\u00e9;", "&\u00e9amp;", "&amp;amp;amp;", "&#38;lt;", "&#x26;#x26;lt;"]
    for _ in range(3000):
        kind = rng.random()
        if kind < 0.4:
            name = rng.choice(names)
            if rng.random() < 0.3:
                name = name.rstrip(";")
            if rng.random() < 0.2:
                name = name.upper()
            cases.append("x&" + name + rng.choice(["", "y", ";", " ", "&", "#", "1", "\u00e9"]))
        elif kind < 0.7:
            n = rng.choice([rng.randrange(0x100), rng.randrange(0x110000), rng.randrange(0x120000),
                            rng.randrange(0xD800, 0xE000)])
            ref = rng.choice(["&#%d", "&#x%x", "&#X%X", "&#x%X"]) % n
            cases.append(ref + rng.choice(["", ";", "z", ";;", " "]))
        else:
            cases.append("".join(rng.choice(["&", "#", ";", "x", "a", "m", "p", "l", "t", "1", "9", "é", " ", "<"])
                                 for _ in range(rng.randint(1, 16))))
    return cases


def clean_cases(rng):
    cases = ["  Hello   World  ", "\u201cQuoted\u201d \u2018text\u2019 \u02bcn", "\ufb01nd the \ufb02ow \ufb03 \ufb05",
             "\uff28\uff45\uff4c\uff4c\uff4f\u3000\uff37\uff4f\uff52\uff4c\uff44\uff01", "\uff76\uff9e\uff8d\uff9f",
             "a\r\nb\rc\u2028d\u2029e\x85f", "\x80\x91quote\x92 \x93dq\x94 \x96 \x97 \x81\x8d",
             "\x1b[31mred\x1b[0m \x1b[1;4mbold\x1b[m \x1b[5", "ctl\x00\x01\x07\x0b\x0e\x1f\x7f\u206a\ufeff\ufff9\ufffc end",
             "e\u0301 A\u030a \u212b \u1e9b\u0323", "&amp;amp;lt;b&amp;gt; &EACUTE;t&eacute; &NTILDE;",
             "<b>&amp;lt;</b> &amp;amp;", "line1 &amp;amp;amp;\n<line2> &amp;amp;amp;\nline3 &amp;amp;amp;",
             "&#x201c;curly&#x201d; &#8220;x&#8221;", "\u0149 \u01c4 \u01c5 \u01c6 \u0132\u0133", "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f\x85\xa0 x \u3000",
             "tab\there", "&#12ab; &#x41; &#65 &#0; &#x80;", "", " ", "\u00a0\u2003"]
    pool = ["\u201c", "\u201d", "\u2018", "\u2019", "\u201a", "\u201e", "\u02bc", "\ufb01", "\ufb00", "\u0133",
            "\uff21", "\uff41", "\uff10", "\uff01", "\uffe5", "\uffe9", "\uff9e", "\u3000", "\r", "\n", "\r\n",
            "\u2028", "\x85", "\x80", "\x9c", "\x1b[", "\x1b[0m", "\x1b[12;3H", "\x00", "\x08", "\x7f", "\ufeff",
            "\u200b", "e", "\u0301", "\u0327", "A", "\u212b", "&amp;", "&lt;", "&#39;", "&EACUTE;", "&szlig;",
            "&SZLIG;", "<", ">", "&", ";", "#", " ", "  ", "\t", "\xa0", "\u2009", "ok", "\u00e9", "\uac00",
            "\u1100", "\u1161", "\u11a8", "lung", "&amp;amp;"]
    for _ in range(3000):
        cases.append("".join(rng.choice(pool) for _ in range(rng.randint(1, 14))))
    for _ in range(500):
        cases.append("".join(random_code_point(rng) for _ in range(rng.randint(1, 10))))
    return cases


def write(path, lines):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for line in lines:
            f.write(line.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r") + "\n")


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    rng = random.Random(SEED)
    lines = corpus(rng)
    assert len(lines) >= 20000, len(lines)
    write(os.path.join(out, "corpus.txt"), lines)
    cases = unescape_cases(rng)
    write(os.path.join(out, "unescape.txt"), cases)
    write(os.path.join(out, "unescape.expected.txt"), [html.unescape(c) for c in cases])
    cases = clean_cases(rng)
    write(os.path.join(out, "clean.txt"), cases)
    write(os.path.join(out, "clean.expected.txt"), [open_clip_clean(c) for c in cases])
    print(f"tokenizer fixtures: {len(lines)} corpus lines")


if __name__ == "__main__":
    main()
