import { createHash, randomBytes } from 'node:crypto';
import { mkdir, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, type Message, type Plugin } from 'esbuild';

/** A tasklet file compiled to one ES module in the cache folder. */
export interface CompiledModule {
  /** `<cacheDir>/<content-hash>.mjs`. */
  compiledFile: string;
  /** Absolute paths of every file bundled into it, the source included. */
  inputs: string[];
}

/** Where esbuild found a problem, for error messages. */
export interface CompileProblem {
  text: string;
  /** Absolute path of the file at fault (a helper may be at fault). */
  file: string | null;
  line: number | null;
  /** 1-based, as editors count (esbuild's own column is 0-based). */
  column: number | null;
}

export type CompileOutcome =
  ({ ok: true } & CompiledModule) | { ok: false; problems: CompileProblem[] };

/**
 * Bundles `file` with the helpers it imports by relative path, so that a
 * tasklet may be TypeScript and split into modules. The output is named by
 * its content hash: ESM caches modules by URL, so a changed tasklet gets a
 * new URL and `import()` really loads the new code.
 */
export async function compileTasklet(
  file: string,
  cacheDir: string,
): Promise<CompileOutcome> {
  const workingDir = path.dirname(file);

  let result;
  try {
    result = await build({
      entryPoints: [file],
      absWorkingDir: workingDir,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      sourcemap: 'inline',
      // Source map paths are relative to this name; the real file sits
      // beside it in the same folder, so they stay right.
      outfile: path.join(cacheDir, 'tasklet.mjs'),
      write: false,
      metafile: true,
      logLevel: 'silent',
      plugins: [externalPackagesByPath],
    });
  } catch (err) {
    return { ok: false, problems: problemsOf(err, workingDir) };
  }

  const output = result.outputFiles[0];
  if (output === undefined) {
    const problem = { text: 'esbuild produced no output' };
    return { ok: false, problems: [{ ...problem, ...noLocation }] };
  }

  const hash = createHash('sha256').update(output.contents).digest('hex');
  const compiledFile = path.join(cacheDir, `${hash.slice(0, 32)}.mjs`);
  await writeOnce(compiledFile, output.contents);

  const inputs = Object.keys(result.metafile.inputs).map((input) =>
    path.resolve(workingDir, input),
  );
  return { ok: true, compiledFile, inputs };
}

/** Loads a compiled module; each compiled file is evaluated once. */
export async function importCompiled(
  compiledFile: string,
): Promise<Record<string, unknown>> {
  return (await import(pathToFileURL(compiledFile).href)) as Record<
    string,
    unknown
  >;
}

const noLocation = { file: null, line: null, column: null };

/**
 * Packages stay outside the bundle (like esbuild's `packages: 'external'`),
 * but are imported by absolute file URL. The compiled module lives in a
 * cache folder with no node_modules above it, so a bare `import 'pino'`
 * would not resolve from there; the absolute URL also makes a tasklet share
 * the engine's copy of a package instead of loading a second one.
 */
const externalPackagesByPath: Plugin = {
  name: 'wfe-external-packages',
  setup(pluginBuild) {
    pluginBuild.onResolve({ filter: /^[^./]/ }, async (args) => {
      if (args.pluginData === externalPackagesByPath) return undefined;
      if (args.path.startsWith('node:')) {
        return { path: args.path, external: true };
      }

      const resolved = await pluginBuild.resolve(args.path, {
        kind: args.kind,
        resolveDir: args.resolveDir,
        importer: args.importer,
        pluginData: externalPackagesByPath,
      });
      if (resolved.errors.length > 0) return { errors: resolved.errors };

      // Node built-ins resolve to themselves and are already external.
      const url = resolved.external
        ? resolved.path
        : pathToFileURL(resolved.path).href;
      return { path: url, external: true };
    });
  },
};

function problemsOf(err: unknown, workingDir: string): CompileProblem[] {
  const messages = (err as { errors?: Message[] }).errors;
  if (!Array.isArray(messages) || messages.length === 0) {
    return [{ text: String(err), ...noLocation }];
  }

  return messages.map((message) => {
    const location = message.location;
    if (location === null) return { text: message.text, ...noLocation };
    return {
      text: message.text,
      file: path.resolve(workingDir, location.file),
      line: location.line,
      column: location.column + 1,
    };
  });
}

// Write-then-rename, so a worker importing the file never reads half of it.
async function writeOnce(file: string, contents: Uint8Array): Promise<void> {
  if (await exists(file)) return;

  await mkdir(path.dirname(file), { recursive: true });
  const temporary = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(temporary, contents);
  await rename(temporary, file);
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch {
    return false;
  }
}
