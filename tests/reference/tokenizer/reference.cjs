// SPDX-License-Identifier: MIT
// Reference tokenizers for libbiomedclip's differential tests and benchmark.
//
//   node reference.cjs json VOCAB OUT.json        tokenizer.json for a BERT uncased WordPiece vocab
//   node reference.cjs encode rust|js TOKENIZER.json CORPUS [MAX]  ids of each corpus line, one line
//                                                 each (truncated to MAX ids, Rust only)
//   node reference.cjs bench rust|js TOKENIZER.json CORPUS    sentences per second (single thread)
//   node reference.cjs probe                      per-code-point behaviour of the Rust tokenizers
//
// "rust" is the Hugging Face tokenizers library itself (its Node binding, the same Rust code that
// transformers uses); "js" is the pure-JavaScript port @huggingface/tokenizers.
// Corpus lines escape backslash, line feed and carriage return as \\, \n and \r.
'use strict';
const fs = require('fs');

const SPECIALS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];

// The pipeline of DESIGN §5 as a tokenizer.json: what transformers builds for BertTokenizerFast
// from a vocab.txt with do_lower_case, including the special tokens matched in raw text.
function tokenizerJson(vocabPath) {
    const lines = fs.readFileSync(vocabPath, 'utf8').split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    const vocab = {};
    lines.forEach((t, i) => { vocab[t.replace(/\r$/, '')] = i; });
    const special = (t) => ({ id: t, ids: [vocab[t]], tokens: [t] });
    return {
        version: '1.0', truncation: null, padding: null,
        added_tokens: SPECIALS.filter((t) => t in vocab).map((t) => ({
            id: vocab[t], content: t, single_word: false, lstrip: false, rstrip: false,
            normalized: false, special: true })),
        normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true,
                      strip_accents: null, lowercase: true },
        pre_tokenizer: { type: 'BertPreTokenizer' },
        post_processor: { type: 'TemplateProcessing',
            single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } },
                     { SpecialToken: { id: '[SEP]', type_id: 0 } }],
            pair: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } },
                   { SpecialToken: { id: '[SEP]', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } },
                   { SpecialToken: { id: '[SEP]', type_id: 1 } }],
            special_tokens: { '[CLS]': special('[CLS]'), '[SEP]': special('[SEP]') } },
        decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
        model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##',
                 max_input_chars_per_word: 100, vocab },
    };
}

function readCorpus(path) {
    const text = fs.readFileSync(path, 'utf8');
    const lines = text.split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    return lines.map((l) => l.replace(/\\(.)/gsu, (m, c) => (c === 'n' ? '\n' : c === 'r' ? '\r' : c)));
}

// Both implementations behind one synchronous-looking interface: a function from a batch of
// texts to a promise of id arrays.
function load(impl, jsonPath, truncateTo) {
    if (impl === 'rust') {
        const { Tokenizer } = require('tokenizers');
        const tok = Tokenizer.fromFile(jsonPath);
        if (truncateTo) tok.setTruncation(truncateTo);
        return async (texts) => (await tok.encodeBatch(texts)).map((e) => e.getIds());
    }
    if (impl === 'js') {
        const { Tokenizer } = require('@huggingface/tokenizers');
        const tok = new Tokenizer(JSON.parse(fs.readFileSync(jsonPath, 'utf8')), {});
        return async (texts) => texts.map((t) => tok.encode(t).ids);
    }
    throw new Error(`unknown implementation ${impl}`);
}

async function encode(impl, jsonPath, corpusPath, truncateTo) {
    const run = load(impl, jsonPath, truncateTo);
    const lines = readCorpus(corpusPath);
    const out = [];
    for (let i = 0; i < lines.length; i += 1000) {
        for (const ids of await run(lines.slice(i, i + 1000))) out.push(ids.join(' '));
    }
    process.stdout.write(out.join('\n') + '\n');
}

// Single-threaded timing: the Rust binding's encodeBatch uses a thread pool, so it is driven
// one sentence at a time (RAYON_NUM_THREADS=1 is set by the caller as well).
async function bench(impl, jsonPath, corpusPath) {
    const lines = readCorpus(corpusPath);
    let run = load(impl, jsonPath, 256);
    if (impl === 'rust') {
        const { Tokenizer } = require('tokenizers');
        const tok = Tokenizer.fromFile(jsonPath);
        tok.setTruncation(256);
        run = async (texts) => { const r = []; for (const t of texts) r.push((await tok.encode(t)).getIds()); return r; };
    }
    await run(lines.slice(0, 2000)); // warm-up
    let done = 0;
    const start = process.hrtime.bigint();
    let elapsed = 0;
    do {
        await run(lines);
        done += lines.length;
        elapsed = Number(process.hrtime.bigint() - start) / 1e9;
    } while (elapsed < 3);
    console.log(`${impl} ${(done / elapsed).toFixed(0)} sentences/s`);
}

// For every code point c (surrogates excepted), what each step of the Rust pipeline does:
// clean_text on "a" c "b" (D dropped, S became a space, K kept), whether CJK spacing applies,
// strip_accents(c) and lowercase(c) as hex code points, and how many pieces the BERT
// pre-tokenizer makes of "a" c "b" (3 punctuation, 2 whitespace, 1 neither), then the whole
// BertNormalizer on c with lowercase on and off.
function probe() {
    const t = require('tokenizers');
    const clean = t.bertNormalizer({ cleanText: true, handleChineseChars: false, stripAccents: false, lowercase: false });
    const cjk = t.bertNormalizer({ cleanText: false, handleChineseChars: true, stripAccents: false, lowercase: false });
    const strip = t.bertNormalizer({ cleanText: false, handleChineseChars: false, stripAccents: true, lowercase: false });
    const lower = t.bertNormalizer({ cleanText: false, handleChineseChars: false, stripAccents: false, lowercase: true });
    const pre = t.bertPreTokenizer();
    const full = t.bertNormalizer({ cleanText: true, handleChineseChars: true, stripAccents: true, lowercase: true });
    const cased = t.bertNormalizer({ cleanText: true, handleChineseChars: true, stripAccents: false, lowercase: false });
    const hex = (s) => [...s].map((c) => c.codePointAt(0).toString(16).toUpperCase()).join(' ');
    const out = [];
    for (let cp = 0; cp <= 0x10ffff; cp++) {
        if (cp >= 0xd800 && cp <= 0xdfff) continue;
        const c = String.fromCodePoint(cp);
        const s = 'a' + c + 'b';
        const cl = clean.normalizeString(s);
        const kind = cl === 'ab' ? 'D' : cl === 'a b' ? 'S' : cl === s ? 'K' : '?' + hex(cl);
        const spaced = cjk.normalizeString(s) === s ? 0 : 1;
        out.push(`${cp.toString(16).toUpperCase()}\t${kind}\t${spaced}\t${hex(strip.normalizeString(c))}\t` +
                 `${hex(lower.normalizeString(c))}\t${pre.preTokenizeString(s).length}\t` +
                 `${hex(full.normalizeString(c))}\t${hex(cased.normalizeString(c))}`);
    }
    process.stdout.write(out.join('\n') + '\n');
}

async function main() {
    const [mode, ...args] = process.argv.slice(2);
    if (mode === 'json') fs.writeFileSync(args[1], JSON.stringify(tokenizerJson(args[0])));
    else if (mode === 'encode') await encode(args[0], args[1], args[2], Number(args[3] || 0));
    else if (mode === 'bench') await bench(args[0], args[1], args[2]);
    else if (mode === 'probe') probe();
    else { console.error('usage: reference.cjs json|encode|bench|probe ...'); process.exit(2); }
}
main().catch((e) => { console.error(e); process.exit(1); });
