// tfjs as the trainer uses it: the core ops and the layers API, and no more. The umbrella package would also
// bundle the WebGL backend, the graph-model converter and tf.data into every trainer worker, about half of
// what a clinic tablet parses and compiles when its first round starts. The wasm backend is loaded by
// tf-wasm-web.ts / tf-wasm-node.ts, and the cpu backend only when asked for (trainer-api.ts).
export * from '@tensorflow/tfjs-core';
export * from '@tensorflow/tfjs-layers';
