import { strict as assert } from 'node:assert';
import { modelFolderProblem } from '../../extension/host/logic/modelFolder';
import { ignoredWorkspaceModelPath } from '../../extension/host/logic/workspaceModelPath';

describe('model folder check (Select Model…)', () => {
  const all = ['model.onnx', 'tokenizer.json', 'msn.json', 'MODEL_CARD.md'];
  it('accepts a folder with the three files and an msn-onnx/1 msn.json', () => {
    assert.equal(modelFolderProblem({ files: all, msnJson: '{"format": "msn-onnx/1"}' }), null);
  });
  it('says in one sentence what is missing or wrong', () => {
    assert.match(modelFolderProblem({ files: ['model.onnx'] })!, /no tokenizer\.json, msn\.json/);
    assert.match(modelFolderProblem({ files: all, msnJson: '{' })!, /msn\.json is not valid JSON/);
    assert.match(modelFolderProblem({ files: all, msnJson: '{"format": "gguf"}' })!, /format "gguf", not "msn-onnx\/1"/);
  });
});

describe('a workspace that sets the model path', () => {
  it('is told its value is ignored; nothing is said without one', () => {
    assert.match(ignoredWorkspaceModelPath({ workspaceValue: './evil-model' })!, /"\.\/evil-model", which is ignored/);
    assert.match(ignoredWorkspaceModelPath({ workspaceFolderValue: '/x' })!, /ignored/);
    assert.equal(ignoredWorkspaceModelPath({}), null);
    assert.equal(ignoredWorkspaceModelPath(undefined), null);
    assert.equal(ignoredWorkspaceModelPath({ workspaceValue: '' }), null);
  });
});
