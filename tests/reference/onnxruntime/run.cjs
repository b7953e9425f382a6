// SPDX-License-Identifier: MIT
// ONNX Runtime (CPU execution provider) on one input of an ONNX file, as a user of that
// engine would run it: all graph optimisations, sequential execution, a chosen number of
// intra-op threads.
//
//   node run.cjs infer MODEL INPUT TYPE SHAPE IN_FILE OUT_FILE [THREADS]
//       runs once on the whole input, writes the first output as raw float32
//   node run.cjs time MODEL INPUT TYPE SHAPE IN_FILE BATCH ROUNDS THREADS
//       one untimed warm-up round, then ROUNDS rounds over the input in batches of BATCH;
//       prints "RATE items/s"
//
// TYPE is float32 or int64; SHAPE is comma-separated, its first number the item count;
// IN_FILE holds the items as raw little-endian values, row-major.
'use strict';
const fs = require('fs');
const ort = require('onnxruntime-node');

function readInput(type, shape, file) {
    const bytes = fs.readFileSync(file);
    const count = shape.reduce((a, b) => a * b, 1);
    const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length);
    const data = type === 'int64' ? new BigInt64Array(buffer) : new Float32Array(buffer);
    if (data.length !== count)
        throw new Error(`${file} holds ${data.length} values, the shape ${shape} needs ${count}`);
    return data;
}

// The items [start, start + n) of a row-major array whose first dimension counts items.
function slice(type, data, shape, start, n) {
    const per = shape.slice(1).reduce((a, b) => a * b, 1);
    return new ort.Tensor(type, data.subarray(start * per, (start + n) * per), [n, ...shape.slice(1)]);
}

async function session(model, threads) {
    return ort.InferenceSession.create(model, {
        executionProviders: ['cpu'],
        graphOptimizationLevel: 'all',
        executionMode: 'sequential',
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
    });
}

async function main(argv) {
    const [command, model, input, type, shapeText, inFile] = argv;
    const shape = shapeText.split(',').map(Number);
    const data = readInput(type, shape, inFile);
    if (command === 'infer') {
        const s = await session(model, Number(argv[7] || 1));
        const out = await s.run({ [input]: slice(type, data, shape, 0, shape[0]) });
        const first = out[s.outputNames[0]];
        fs.writeFileSync(argv[6], Buffer.from(first.data.buffer, first.data.byteOffset, first.data.byteLength));
        console.log(`output ${s.outputNames[0]} [${first.dims}]`);
        return;
    }
    if (command !== 'time')
        throw new Error(`unknown command ${command}`);
    const [batch, rounds, threads] = argv.slice(6, 9).map(Number);
    const s = await session(model, threads);
    const round = async () => {
        for (let start = 0; start < shape[0]; start += batch)
            await s.run({ [input]: slice(type, data, shape, start, Math.min(batch, shape[0] - start)) });
    };
    await round();
    const begin = process.hrtime.bigint();
    for (let r = 0; r < rounds; r++)
        await round();
    const seconds = Number(process.hrtime.bigint() - begin) / 1e9;
    console.log(`${(shape[0] * rounds / seconds).toFixed(3)} items/s`);
}

main(process.argv.slice(2)).catch((e) => {
    console.error(`onnxruntime: ${e.message}`);
    process.exit(1);
});
