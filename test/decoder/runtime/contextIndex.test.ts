import * as assert from 'node:assert/strict';
import { chunkLines, ContextIndex, identifiersOf } from '../../../extension/decoder/engine/contextIndex';
import { contextQuery } from '../../../extension/decoder/engine/decoderEngine';
import { pathOfUri } from '../../../extension/decoder/engine/corpusStore';

describe('context index', () => {
  it('chunks at line boundaries and loses no text', () => {
    const text = Array.from({ length: 200 }, (_, i) => `line number ${i}\n`).join('') + 'x'.repeat(2000);
    const chunks = chunkLines(text, 300);
    assert.equal(chunks.join(''), text);
    assert.ok(chunks.every((c) => c.length <= 300));
    assert.ok(chunks.slice(0, -8).every((c) => c.endsWith('\n')));
  });

  it('identifiers are names of three or more characters', () => {
    assert.deepEqual([...identifiersOf('a.bc = do_thing(xyz, 12)')].sort(), ['do_thing', 'xyz']);
  });

  it('picks the chunks sharing the most identifiers, best last, never from the current file, within the budget', () => {
    const index = new ContextIndex();
    index.set('file:///w/cart.ts', 'cart.ts', 'export function addItem(cart, item) { cart.items.push(item); }\n');
    index.set('file:///w/price.ts', 'price.ts', 'export function totalPrice(cart) { return cart.items.reduce(sum, 0); }\n');
    index.set('file:///w/other.ts', 'other.ts', 'export const unrelatedThing = 42;\n');
    index.set('file:///w/current.ts', 'current.ts', 'totalPrice(cart) addItem(cart, item) items\n');
    const current = { path: 'current.ts' };
    const picked = index.pick('totalPrice(cart);\ncart.items.length\naddItem', 10_000, current);
    assert.deepEqual(picked.map((c) => c.path), ['price.ts', 'cart.ts']);
    assert.deepEqual(index.pick('totalPrice cart items', 60, current).map((c) => c.path), []);
    index.remove('file:///w/price.ts');
    assert.deepEqual(index.pick('totalPrice', 10_000).map((c) => c.path), ['current.ts']);
    index.set('file:///w/cart.ts', 'cart.ts', 'nothing here\n');
    assert.deepEqual(index.pick('addItem', 10_000, current), []);
  });

  it('multi-root: another folder\'s files are labelled with its name, and only the current folder\'s file is left out', () => {
    const index = new ContextIndex();
    index.set('file:///w/app/src/cart.ts', 'src/cart.ts', 'export function addItem(cart, item) {}\n', 'app');
    index.set('file:///w/lib/src/cart.ts', 'src/cart.ts', 'export function addItem(cart, item, count) {}\n', 'lib');
    index.set('file:///w/lib/src/price.ts', 'src/price.ts', 'export function addItem(price) {}\n', 'lib');
    index.set('untitled:Untitled-1', 'Untitled-1', 'addItem(cart, item)\n');
    const picked = index.pick('addItem cart item', 10_000, { path: 'src/cart.ts', repoName: 'lib' }).map((c) => c.path).sort();
    assert.deepEqual(picked, ['Untitled-1', 'app/src/cart.ts', 'src/price.ts']);
    // Without a folder on the request (the bench, an older host) paths are as sent.
    assert.deepEqual(index.pick('addItem price', 10_000, { path: 'src/cart.ts' }).map((c) => c.path).sort(), ['Untitled-1', 'src/price.ts']);
  });

  it('the query leaves out the line being typed, so it stays put while typing', () => {
    const before = 'import { totalPrice } from "./price";\nconst x = ';
    assert.equal(contextQuery(before + 'tot', ';\nnext()'), contextQuery(before + 'totalPr', ';\nnext()'));
    assert.ok(contextQuery(before, '\nnext()').includes('totalPrice'));
  });

  it('a uri without a path shows as its last segments', () => {
    assert.equal(pathOfUri('file:///home/u/project/src/cart.ts'), 'project/src/cart.ts');
    assert.equal(pathOfUri('untitled:Untitled-1'), 'untitled:Untitled-1');
  });
});
