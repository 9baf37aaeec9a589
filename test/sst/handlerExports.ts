import path from 'node:path';
import ts from 'typescript';
import { root } from './sstStubs';

/** The extensions SST's Node runtime tries, in its order, for `dir/file.export`. */
export const HANDLER_EXTENSIONS = ['.ts', '.tsx', '.mts', '.cts', '.js', '.jsx', '.mjs', '.cjs'];

export interface HandlerExport {
  file: string;
  name: string;
}

/**
 * For each `{ file, name }`, whether `file` exports `name` as something
 * callable, as TypeScript sees it (re-exports followed), without running the
 * module: the problem, or undefined. One program is type-checked for all of
 * them, since each program checks every file it reaches.
 */
export function checkExportedFunctions(handlers: readonly HandlerExport[]): (string | undefined)[] {
  const configFile = ts.readConfigFile(path.join(root, 'tsconfig.json'), (p) => ts.sys.readFile(p));
  const { options } = ts.parseJsonConfigFileContent(configFile.config, ts.sys, root);
  const program = ts.createProgram([...new Set(handlers.map((handler) => handler.file))], { ...options, noEmit: true });
  const checker = program.getTypeChecker();
  return handlers.map(({ file, name }) => {
    const source = program.getSourceFile(file);
    const moduleSymbol = source && checker.getSymbolAtLocation(source);
    if (!source || !moduleSymbol) return 'is not a module';
    const exported = checker.getExportsOfModule(moduleSymbol).find((symbol) => symbol.name === name);
    if (!exported) return `does not export "${name}"`;
    const target = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
    const type = checker.getTypeOfSymbolAtLocation(target, source);
    if (type.getCallSignatures().length === 0) return `exports "${name}" but it is not a function (${checker.typeToString(type)})`;
    return undefined;
  });
}
