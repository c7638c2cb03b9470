// Entry point of the forward-pass worker thread (dist/decoder/forwardWorker.js), started by
// WorkerModel. It owns the ONNX Runtime session: onnxruntime-node's session.run blocks the
// thread it runs on for the whole pass, so running it here keeps the decoding process's main
// thread reading protocol messages (a cancel, an inline completion) during a pass.
import { parentPort, workerData } from 'node:worker_threads';
import { OnnxModel } from './onnxModel';
import { buffersOf, OPEN_ID, toWorkerError, type FromWorker, type PassRequest, type ToWorker, type WorkerStart } from './workerMessages';

const port = parentPort;
if (!port) throw new Error('forwardWorker.js runs as a worker thread (WorkerModel starts it)');

function reply(message: FromWorker, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(message, transfer);
}

/** One pass. The lent cache arrays go back in every case, so the main thread keeps its cache. */
async function runPass(model: OnnxModel, request: PassRequest): Promise<void> {
  const { id, pastKeys, pastValues } = request;
  const lent = buffersOf([...pastKeys, ...pastValues]);
  try {
    const outputs = await model.forward(request);
    const produced = buffersOf([outputs.logits, ...outputs.newKeys, ...outputs.newValues]);
    reply({ id, outputs, pastKeys, pastValues }, [...lent, ...produced]);
  } catch (error) {
    reply({ id, error: toWorkerError(error), pastKeys, pastValues }, lent);
  }
}

async function main(): Promise<void> {
  const { modelPath, config, settings } = workerData as WorkerStart;
  let model: OnnxModel | null = null;
  // Listening from the start keeps the thread alive after a failed open, so WorkerModel reads the
  // error before the thread ends (it stops the thread itself). It sends nothing before the open
  // reply, and each later message only once the previous one was answered: passes never overlap.
  port!.on('message', (message: ToWorker) => {
    if (!model) return;
    if (message.kind === 'forward') {
      void runPass(model, message);
    } else {
      model.release().then(() => reply({ id: message.id }), (error) => reply({ id: message.id, error: toWorkerError(error) }));
    }
  });
  try {
    model = await OnnxModel.open(modelPath, config, settings);
  } catch (error) {
    reply({ id: OPEN_ID, error: toWorkerError(error) });
    return;
  }
  reply({ id: OPEN_ID });
}

void main();
