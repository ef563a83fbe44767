/** One prefix in the report: totals cover every key under it, children the largest sub-prefixes kept. */
export interface PrefixNode {
  /** The full prefix including its trailing separator (`user:42:`); `''` for the root. */
  prefix: string;
  keys: number;
  bytes: number;
  children: PrefixNode[];
  /** Sub-prefixes dropped to keep the tree bounded; their keys are in this node's totals. */
  foldedChildren: number;
}

interface MutableNode {
  name: string;
  keys: number;
  bytes: number;
  children: Map<string, MutableNode> | null;
  parent: MutableNode | null;
  folded: number;
}

/**
 * Key-prefix totals in bounded memory. Every key adds its bytes to the root and to each prefix on
 * its path (up to `maxDepth` prefixes deep). When the tree grows past `maxNodes`, the smallest leaf
 * prefixes are folded into their parents, whose totals already include them. Totals of the root and
 * of prefixes never folded are exact; a folded prefix that shows up again restarts its count.
 */
export class PrefixTree {
  private readonly root: MutableNode = {
    name: '',
    keys: 0,
    bytes: 0,
    children: null,
    parent: null,
    folded: 0,
  };
  private nodes = 0;
  private readonly separators: readonly string[];
  /** Marks the UTF-16 units a separator starts with, to skip other positions quickly. */
  private readonly starts = new Uint8Array(65536);
  /** The separators are single characters: a marked unit is one. */
  private readonly single: boolean;

  constructor(
    separators: readonly string[],
    private readonly maxNodes: number,
    private readonly maxDepth: number,
  ) {
    // Longest first, so `::` wins over `:` at the same position.
    this.separators = [...separators].sort((a, b) => b.length - a.length);
    for (const s of separators) this.starts[s.charCodeAt(0)] = 1;
    this.single = separators.every((s) => s.length === 1);
  }

  /** The length of the separator at `key[i]`, or 0. */
  private separatorAt(key: string, i: number): number {
    if (this.starts[key.charCodeAt(i)] === 0) return 0;
    if (this.single) return 1;
    for (const s of this.separators) if (key.startsWith(s, i)) return s.length;
    return 0;
  }

  /**
   * Adds a key's bytes to the root and to each of its prefixes, each with its trailing separator
   * (`a:b:c` is under `a:` and `a:b:`).
   */
  add(key: string, bytes: number): void {
    let node = this.root;
    node.keys++;
    node.bytes += bytes;
    let start = 0;
    for (let i = 0, depth = 0; i < key.length && depth < this.maxDepth; i++) {
      const n = this.separatorAt(key, i);
      if (n === 0) continue;
      const end = i + n;
      const segment = key.slice(start, end);
      start = end;
      i = end - 1;
      depth++;
      node.children ??= new Map();
      let child = node.children.get(segment);
      if (!child) {
        child = { name: segment, keys: 0, bytes: 0, children: null, parent: node, folded: 0 };
        node.children.set(segment, child);
        this.nodes++;
      }
      child.keys++;
      child.bytes += bytes;
      node = child;
    }
    if (this.nodes > this.maxNodes) this.prune();
  }

  /** Folds the smallest leaves until a quarter of the budget is free again. */
  private prune(): void {
    const target = Math.floor(this.maxNodes * 0.75);
    while (this.nodes > target) {
      const leaves: MutableNode[] = [];
      const walk = (n: MutableNode): void => {
        if (!n.children || n.children.size === 0) {
          if (n !== this.root) leaves.push(n);
          return;
        }
        for (const c of n.children.values()) walk(c);
      };
      walk(this.root);
      leaves.sort((a, b) => a.bytes - b.bytes);
      for (const leaf of leaves) {
        if (this.nodes <= target) break;
        const parent = leaf.parent!;
        parent.children!.delete(leaf.name);
        parent.folded++;
        this.nodes--;
      }
    }
  }

  /** The tree as plain data, children largest first. */
  toJSON(): PrefixNode {
    const convert = (n: MutableNode, prefix: string): PrefixNode => {
      const children = n.children
        ? [...n.children.values()].sort((a, b) => b.bytes - a.bytes).map((c) => convert(c, prefix + c.name))
        : [];
      return { prefix, keys: n.keys, bytes: n.bytes, children, foldedChildren: n.folded };
    };
    return convert(this.root, '');
  }
}
