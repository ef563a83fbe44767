/**
 * The API reference, generated with the TypeScript compiler API from each package's public surface
 * (`src/index.ts`) and the TSDoc on the declarations it re-exports. One page per package.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import ts from 'typescript';
import { code, fence, generatedNotice, prose, table } from './markdown.ts';

export interface PackageInfo {
  /** Folder under packages/: `kvcache-index`. */
  dir: string;
  /** npm name: `@valkey-tools/kvcache-index`. */
  name: string;
  description: string;
  /** Absolute path of `src/index.ts`. */
  entry: string;
}

type Kind = 'function' | 'class' | 'interface' | 'type' | 'constant' | 'enum' | 'namespace';

export interface ApiEntry {
  name: string;
  kind: Kind;
  /** Declaration text: signatures without bodies, whole type aliases. */
  signature: string;
  doc: string;
  tags: { name: string; text: string }[];
  members: { name: string; type: string; doc: string; static?: boolean }[];
  file: string;
  line: number;
}

export interface PackageApi {
  pkg: PackageInfo;
  entries: ApiEntry[];
}

const KIND_ORDER: Kind[] = ['function', 'class', 'constant', 'interface', 'type', 'enum', 'namespace'];
const KIND_TITLES: Record<Kind, string> = {
  function: 'Functions',
  class: 'Classes',
  constant: 'Constants',
  interface: 'Interfaces',
  type: 'Types',
  enum: 'Enums',
  namespace: 'Namespaces',
};

function compilerOptions(repoRoot: string): ts.CompilerOptions {
  const configPath = join(repoRoot, 'tsconfig.base.json');
  const raw = ts.readConfigFile(configPath, (p) => readFileSync(p, 'utf8'));
  if (raw.error) throw new Error(ts.flattenDiagnosticMessageText(raw.error.messageText, '\n'));
  const parsed = ts.parseJsonConfigFileContent(raw.config, ts.sys, dirname(configPath));
  return { ...parsed.options, noEmit: true };
}

function commentText(comment: string | readonly ts.JSDocComment[] | undefined): string {
  if (comment === undefined) return '';
  if (typeof comment === 'string') return comment;
  return comment
    .map((part) => {
      if (ts.isJSDocLink(part) || ts.isJSDocLinkCode(part) || ts.isJSDocLinkPlain(part)) {
        const target = part.name ? part.name.getText() : '';
        const label = part.text.replace(/^\|/, '').trim();
        return `{@link ${target}${label ? ` ${label}` : ''}}`;
      }
      return part.text;
    })
    .join('');
}

/** Doc comment of a declaration: the text and the block tags (@param, @example, ...). */
function docOf(node: ts.Node): { doc: string; tags: { name: string; text: string }[] } {
  const jsDocs = ts.getJSDocCommentsAndTags(node).filter(ts.isJSDoc);
  const last = jsDocs.at(-1);
  if (!last) return { doc: '', tags: [] };
  const tags = (last.tags ?? []).map((tag) => {
    let text = commentText(tag.comment);
    if (ts.isJSDocParameterTag(tag)) text = `${tag.name.getText()} — ${text.replace(/^[-\s]+/, '')}`;
    return { name: tag.tagName.text, text: text.trim() };
  });
  return { doc: commentText(last.comment).trim(), tags };
}

/** Source text of a node without its leading doc comment, `export`/`declare` keywords or body. */
function declarationText(node: ts.Node, sf: ts.SourceFile): string {
  let end = node.getEnd();
  if (
    (ts.isFunctionDeclaration(node) || ts.isMethodDeclaration(node) || ts.isConstructorDeclaration(node)) &&
    node.body
  ) {
    end = node.body.getStart(sf);
  }
  let text = sf.text.slice(node.getStart(sf), end).trim();
  text = text.replace(/^export\s+(default\s+)?/, '').replace(/^declare\s+/, '');
  return dedent(text.replace(/;$/, ''));
}

function dedent(text: string): string {
  const lines = text.split('\n');
  const indents = lines
    .slice(1)
    .filter((l) => l.trim() !== '')
    .map((l) => /^ */.exec(l)![0].length);
  const min = indents.length > 0 ? Math.min(...indents) : 0;
  const strip = Math.max(0, min - 2);
  return [lines[0]!, ...lines.slice(1).map((l) => l.slice(Math.min(strip, /^ */.exec(l)![0].length)))].join(
    '\n',
  );
}

function isPublicMember(member: ts.ClassElement): boolean {
  const flags = ts.getCombinedModifierFlags(member as unknown as ts.Declaration);
  if (flags & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) return false;
  if (member.name && ts.isPrivateIdentifier(member.name)) return false;
  if (member.name && ts.isComputedPropertyName(member.name)) return false;
  return true;
}

function memberName(member: ts.ClassElement | ts.TypeElement, sf: ts.SourceFile): string {
  if (ts.isConstructorDeclaration(member) || ts.isConstructSignatureDeclaration(member)) return 'constructor';
  if (ts.isCallSignatureDeclaration(member)) return '(call)';
  if (ts.isIndexSignatureDeclaration(member))
    return `[${member.parameters.map((p) => p.getText(sf)).join(', ')}]`;
  return member.name ? member.name.getText(sf) : '';
}

function memberType(
  member: ts.ClassElement | ts.TypeElement,
  sf: ts.SourceFile,
  checker: ts.TypeChecker,
): string {
  if (
    ts.isMethodDeclaration(member) ||
    ts.isMethodSignature(member) ||
    ts.isConstructorDeclaration(member) ||
    ts.isCallSignatureDeclaration(member) ||
    ts.isConstructSignatureDeclaration(member) ||
    ts.isGetAccessorDeclaration(member)
  ) {
    const params = member.parameters.map((p) => p.getText(sf)).join(', ');
    const ret = member.type
      ? member.type.getText(sf)
      : ts.isConstructorDeclaration(member)
        ? ''
        : inferReturn();
    return ts.isGetAccessorDeclaration(member) ? ret : `(${params})${ret ? `: ${ret}` : ''}`;
    function inferReturn(): string {
      const sig = checker.getSignatureFromDeclaration(member as ts.SignatureDeclaration);
      return sig ? checker.typeToString(checker.getReturnTypeOfSignature(sig)) : '';
    }
  }
  if ((ts.isPropertyDeclaration(member) || ts.isPropertySignature(member)) && member.type) {
    return member.type.getText(sf).replace(/\s+/g, ' ');
  }
  if (ts.isIndexSignatureDeclaration(member)) return member.type.getText(sf);
  return checker.typeToString(checker.getTypeAtLocation(member));
}

function membersOf(
  decl: ts.ClassDeclaration | ts.InterfaceDeclaration,
  sf: ts.SourceFile,
  checker: ts.TypeChecker,
): ApiEntry['members'] {
  const out: ApiEntry['members'] = [];
  for (const member of decl.members as ts.NodeArray<ts.ClassElement | ts.TypeElement>) {
    if (ts.isClassDeclaration(decl) && !isPublicMember(member as ts.ClassElement)) continue;
    if (ts.isSemicolonClassElement(member as ts.ClassElement)) continue;
    const name = memberName(member, sf);
    if (name === '') continue;
    const optional = 'questionToken' in member && member.questionToken ? '?' : '';
    const isStatic =
      ts.canHaveModifiers(member) &&
      (ts.getModifiers(member) ?? []).some((m) => m.kind === ts.SyntaxKind.StaticKeyword);
    const { doc } = docOf(member);
    out.push({ name: name + optional, type: memberType(member, sf, checker), doc, static: isStatic });
  }
  return out;
}

function kindOf(decl: ts.Declaration): Kind | undefined {
  if (ts.isFunctionDeclaration(decl)) return 'function';
  if (ts.isClassDeclaration(decl)) return 'class';
  if (ts.isInterfaceDeclaration(decl)) return 'interface';
  if (ts.isTypeAliasDeclaration(decl)) return 'type';
  if (ts.isVariableDeclaration(decl)) {
    const init = decl.initializer;
    if (init && (ts.isArrowFunction(init) || ts.isFunctionExpression(init))) return 'function';
    return 'constant';
  }
  if (ts.isEnumDeclaration(decl)) return 'enum';
  if (ts.isModuleDeclaration(decl) || ts.isSourceFile(decl)) return 'namespace';
  return undefined;
}

function entryFor(name: string, symbol: ts.Symbol, checker: ts.TypeChecker, repoRoot: string): ApiEntry[] {
  const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
  const decls = target.declarations ?? [];
  const byKind = new Map<Kind, ts.Declaration[]>();
  for (const decl of decls) {
    const kind = kindOf(decl);
    if (!kind) continue;
    byKind.set(kind, [...(byKind.get(kind) ?? []), decl]);
  }
  const entries: ApiEntry[] = [];
  for (const [kind, kindDecls] of byKind) {
    const first = kindDecls[0]!;
    const sf = first.getSourceFile();
    const docSource = ts.isVariableDeclaration(first) ? first.parent.parent : first;
    // An overloaded function's doc sits on its first signature; take the first declaration with one.
    const docs = kindDecls.map((d) => docOf(ts.isVariableDeclaration(d) ? d.parent.parent : d));
    const { doc, tags } = docs.find((d) => d.doc !== '' || d.tags.length > 0) ?? docOf(docSource);
    let signature: string;
    let members: ApiEntry['members'] = [];
    if (kind === 'function' && !ts.isVariableDeclaration(first)) {
      const signatures = kindDecls.filter(
        (d) => !(ts.isFunctionDeclaration(d) && d.body && kindDecls.length > 1),
      );
      signature = signatures.map((d) => declarationText(d, sf)).join('\n');
    } else if (kind === 'constant' || kind === 'function') {
      const v = first as ts.VariableDeclaration;
      const declared = v.type?.getText(sf);
      let type =
        declared ?? checker.typeToString(checker.getTypeAtLocation(v), undefined, ts.TypeFormatFlags.None);
      if (type.length > 600) type = `${type.slice(0, 600)}…`;
      signature = `const ${name}: ${type}`;
    } else if (kind === 'class') {
      const cls = first as ts.ClassDeclaration;
      const heritage = (cls.heritageClauses ?? []).map((h) => h.getText(sf)).join(' ');
      const tp = cls.typeParameters ? `<${cls.typeParameters.map((t) => t.getText(sf)).join(', ')}>` : '';
      signature = `class ${name}${tp}${heritage ? ` ${heritage}` : ''}`;
      members = membersOf(cls, sf, checker);
    } else if (kind === 'interface') {
      const iface = first as ts.InterfaceDeclaration;
      const heritage = (iface.heritageClauses ?? []).map((h) => h.getText(sf)).join(' ');
      const tp = iface.typeParameters ? `<${iface.typeParameters.map((t) => t.getText(sf)).join(', ')}>` : '';
      signature = `interface ${name}${tp}${heritage ? ` ${heritage}` : ''}`;
      members = kindDecls.flatMap((d) => membersOf(d as ts.InterfaceDeclaration, sf, checker));
    } else if (kind === 'namespace') {
      signature = `namespace ${name}`;
    } else {
      signature = declarationText(first, sf);
      if (name !== target.name) signature = signature.replace(new RegExp(`\\b${target.name}\\b`), name);
    }
    const { line } = sf.getLineAndCharacterOfPosition(first.getStart(sf));
    entries.push({
      name,
      kind,
      signature,
      doc,
      tags,
      members,
      file: sf.fileName.startsWith(repoRoot) ? sf.fileName.slice(repoRoot.length + 1) : sf.fileName,
      line: line + 1,
    });
  }
  return entries;
}

function fallbackEntry(name: string): ApiEntry {
  return { name, kind: 'constant', signature: name, doc: '', tags: [], members: [], file: '', line: 0 };
}

/** Reads every package's public surface in one TypeScript program. */
export function collectApi(packages: readonly PackageInfo[], repoRoot: string): PackageApi[] {
  const program = ts.createProgram({
    rootNames: packages.map((p) => p.entry),
    options: compilerOptions(repoRoot),
  });
  const checker = program.getTypeChecker();
  return packages.map((pkg) => {
    const sf = program.getSourceFile(pkg.entry);
    if (!sf) throw new Error(`${pkg.name}: cannot read ${pkg.entry}`);
    const moduleSymbol = checker.getSymbolAtLocation(sf);
    const exports = moduleSymbol ? checker.getExportsOfModule(moduleSymbol) : [];
    const entries = exports.flatMap((symbol) => {
      try {
        return entryFor(symbol.getName(), symbol, checker, repoRoot);
      } catch (err) {
        // One odd declaration must not take the whole site down: document the name, say why.
        console.warn(`docs: ${pkg.name}: cannot document ${symbol.getName()}: ${(err as Error).message}`);
        return [fallbackEntry(symbol.getName())];
      }
    });
    return { pkg, entries };
  });
}

function linkify(text: string, known: ReadonlySet<string>): string {
  // A relative Markdown link in a doc comment points into the repository, not into this site: keep
  // its text only, so a comment can never break the docs build with a dead link.
  const withoutRelativeLinks = text.replace(/\[([^\]]+)\]\((?!https?:|#)[^)]*\)/g, '$1');
  return withoutRelativeLinks.replace(
    /\{@link(?:code|plain)?\s+([^\s}]+)(?:\s+([^}]*))?\}/g,
    (_m, target: string, label?: string) => {
      const base = target.split('.')[0]!;
      const shown = label?.trim() || target;
      if (/^https?:/.test(target)) return `[${shown}](${target})`;
      return known.has(base) ? `[\`${shown}\`](#${anchor(base)})` : `\`${shown}\``;
    },
  );
}

/** Anchors keep the export's case (`platformKey` and `PlatformKey` are different exports). */
function anchor(name: string): string {
  return name.replace(/[^A-Za-z0-9_-]/g, '-');
}

/** One anchor per entry; a name exported both as a value and as a type gets a `-kind` suffix. */
function assignAnchors(entries: readonly ApiEntry[]): Map<ApiEntry, string> {
  const used = new Set<string>();
  const out = new Map<ApiEntry, string>();
  for (const entry of entries) {
    let id = anchor(entry.name);
    if (used.has(id)) id = `${id}-${entry.kind}`;
    used.add(id);
    out.set(entry, id);
  }
  return out;
}

function renderEntry(entry: ApiEntry, id: string, known: ReadonlySet<string>): string {
  const out: string[] = [];
  const badge = `<Badge type="${entry.kind === 'function' || entry.kind === 'class' ? 'tip' : 'info'}" text="${entry.kind}" />`;
  out.push(`### ${entry.name} ${badge} {#${id}}`);
  out.push(fence('ts', entry.signature));
  if (entry.doc) out.push(prose(linkify(entry.doc, known)));
  const params = entry.tags.filter((t) => t.name === 'param');
  if (params.length > 0) {
    out.push(
      table(
        ['Parameter', 'Description'],
        params.map((p) => {
          const [pname, ...rest] = p.text.split(' — ');
          return [code(pname ?? ''), prose(linkify(rest.join(' — '), known), { table: true })];
        }),
      ),
    );
  }
  for (const tag of entry.tags) {
    if (tag.name === 'param') continue;
    if (tag.name === 'example') {
      const body = tag.text.replace(/^```\w*\n?/, '').replace(/\n?```$/, '');
      out.push('**Example**');
      out.push(fence('ts', body));
    } else if (tag.name === 'returns' || tag.name === 'return') {
      out.push(`**Returns** ${prose(linkify(tag.text, known))}`);
    } else if (tag.name === 'throws') {
      out.push(`**Throws** ${prose(linkify(tag.text, known))}`);
    } else if (tag.name === 'deprecated') {
      out.push(
        `::: warning Deprecated\n${prose(linkify(tag.text, known)) || 'Do not use in new code.'}\n:::`,
      );
    } else if (tag.name === 'see') {
      out.push(`**See** ${prose(linkify(tag.text, known))}`);
    } else if (tag.text) {
      out.push(`**@${tag.name}** ${prose(linkify(tag.text, known))}`);
    }
  }
  if (entry.members.length > 0) {
    out.push(
      table(
        [entry.kind === 'class' ? 'Member' : 'Property', 'Type', 'Description'],
        entry.members.map((m) => [
          code(`${m.static ? 'static ' : ''}${m.name}`),
          code(m.type),
          prose(linkify(m.doc, known), { table: true }),
        ]),
      ),
    );
  }
  if (entry.file) out.push(`<sub>Source: ${code(`${entry.file}:${entry.line}`)}</sub>`);
  return out.join('\n\n');
}

export function renderPackagePage(api: PackageApi): string {
  const { pkg, entries } = api;
  const known = new Set(entries.map((e) => e.name));
  const out: string[] = [];
  out.push('---\noutline: [2, 3]\n---');
  out.push(generatedNotice(`packages/${pkg.dir}/src/index.ts and the TSDoc of what it exports`));
  out.push(`# ${pkg.name}`);
  out.push(prose(pkg.description));
  out.push(fence('ts', `import { … } from '${pkg.name}';`));
  if (entries.length === 0) {
    out.push('::: info\nThis package exports nothing yet: its public surface is still being written.\n:::');
    return out.join('\n\n') + '\n';
  }
  const ordered = KIND_ORDER.flatMap((kind) => entries.filter((e) => e.kind === kind));
  const anchors = assignAnchors(ordered);
  for (const kind of KIND_ORDER) {
    const ofKind = ordered.filter((e) => e.kind === kind);
    if (ofKind.length === 0) continue;
    out.push(`## ${KIND_TITLES[kind]}`);
    for (const entry of ofKind) out.push(renderEntry(entry, anchors.get(entry)!, known));
  }
  return out.join('\n\n') + '\n';
}

export function renderApiIndex(apis: readonly PackageApi[]): string {
  const out: string[] = [];
  out.push(generatedNotice('the packages\u2019 public surfaces'));
  out.push('# API reference');
  out.push(
    'The public API of every `@valkey-tools/*` package: exactly what its `src/index.ts` (and each subpath ' +
      'export) exports, with the signatures and doc comments from the source. Each page is regenerated on every build.',
  );
  out.push(
    table(
      ['Package', 'Exports', 'For'],
      apis.map(({ pkg, entries }) => [
        `[${code(pkg.name)}](./${pkg.dir})`,
        String(entries.length),
        prose(pkg.description, { table: true }),
      ]),
    ),
  );
  return out.join('\n\n') + '\n';
}
