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
  /** First UTF-16 unit of each separator, to skip positions quickly. */
  private readonly firstUnits: Set<number>;

  constructor(
    separators: readonly string[],
    private readonly maxNodes: number,
    private readonly maxDepth: number,
  ) {
    // Longest first, so `::` wins over `:` at the same position.
    this.separators = [...separators].sort((a, b) => b.length - a.length);
    this.firstUnits = new Set(separators.map((s) => s.charCodeAt(0)));
  }

  /** The key's prefixes, each with its trailing separator: `a:b:c` gives `a:` and `b:`. */
  private segments(key: string): string[] {
    const out: string[] = [];
    let start = 0;
    for (let i = 0; i < key.length && out.length < this.maxDepth; i++) {
      if (!this.firstUnits.has(key.charCodeAt(i))) continue;
      const sep = this.separators.find((s) => key.startsWith(s, i));
      if (!sep) continue;
      const end = i + sep.length;
      out.push(key.slice(start, end));
      start = end;
      i = end - 1;
    }
    return out;
  }

  add(key: string, bytes: number): void {
    let node = this.root;
    node.keys++;
    node.bytes += bytes;
    for (const segment of this.segments(key)) {
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
