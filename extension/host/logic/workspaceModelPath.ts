// A workspace cannot choose the model: `msnComplete.modelPath` is machine-scoped, so VS Code ignores a
// workspace's value (a cloned repository must not make the extension load a model file it ships).
// The user is told once per workspace that its value is ignored, instead of wondering why (pure).

export interface ModelPathInspection {
  workspaceValue?: unknown;
  workspaceFolderValue?: unknown;
}

export function ignoredWorkspaceModelPath(inspected: ModelPathInspection | undefined): string | null {
  const value = inspected?.workspaceFolderValue ?? inspected?.workspaceValue;
  if (typeof value !== 'string' || value.trim() === '') return null;
  return `MSN Complete: this workspace sets msnComplete.modelPath to ${JSON.stringify(value)}, which is ignored: ` +
    'the model is chosen per machine (MSN Complete: Select Model…), so a workspace cannot make the extension load a model it ships.';
}
