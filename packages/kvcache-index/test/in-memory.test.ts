import { InMemoryIndex } from '../src/in-memory-index.js';
import { describeIndexBehaviour, describeScopeRule } from './index-behaviour.js';

describeIndexBehaviour('in-memory', async () => new InMemoryIndex());
describeIndexBehaviour('in-memory, model scope', async () => new InMemoryIndex(), { model: 'llama' });
describeScopeRule('in-memory', async () => new InMemoryIndex());
