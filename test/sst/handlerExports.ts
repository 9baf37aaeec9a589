import path from 'node:path';
import ts from 'typescript';
import { root } from './sstStubs';

/** The extensions SST's Node runtime tries, in its order, for `dir/file.export`. */
export const HANDLER_EXTENSIONS = ['.ts', '.tsx', '.mts', '.cts', '.js', '.jsx', '.mjs', '.cjs'];

let program: { files: string[]; checker: ts.TypeChecker; program: ts.Program } | undefined;

/**
 * Whether `file` exports `name` as something callable, as TypeScript sees it
 * (re-exports followed), without running the module. Returns the problem, if any.
 */
export function checkExportedFunction(file: string, name: string): string | undefined {
  if (!program?.files.includes(file)) {
    const configFile = ts.readConfigFile(path.join(root, 'tsconfig.json'), (p) => ts.sys.readFile(p));
    const { options } = ts.parseJsonConfigFileContent(configFile.config, ts.sys, root);
    const files = [...(program?.files ?? []), file];
    const created = ts.createProgram(files, { ...options, noEmit: true });
    program = { files, program: created, checker: created.getTypeChecker() };
  }
  const { checker, program: tsProgram } = program;
  const source = tsProgram.getSourceFile(file);
  const moduleSymbol = source && checker.getSymbolAtLocation(source);
  if (!source || !moduleSymbol) return 'is not a module';
  const exported = checker.getExportsOfModule(moduleSymbol).find((symbol) => symbol.name === name);
  if (!exported) return `does not export "${name}"`;
  const target = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
  const type = checker.getTypeOfSymbolAtLocation(target, source);
  if (type.getCallSignatures().length === 0) return `exports "${name}" but it is not a function (${checker.typeToString(type)})`;
  return undefined;
}
