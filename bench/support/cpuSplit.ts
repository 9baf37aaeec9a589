import { readFileSync } from 'node:fs';

/**
 * CPU time spent per unit of work (an event, a command) while a phase was
 * timed: by this Node process, and by the rest of the machine (PostgreSQL's
 * backends and WAL writer, the kernel's loopback TCP, anything else running).
 * The two sides of a comparison share the machine, so this tells whether a gap
 * is the framework's JavaScript or what it asks of the database.
 */
export interface CpuPerUnit {
  processUs: number;
  restOfMachineUs: number;
}

// /proc/stat counts in USER_HZ ticks, which Linux fixes at 100 a second for user space.
const MICROSECONDS_PER_TICK = 10_000;

/** Busy time of all the machine's cores since boot, or undefined where there is no /proc/stat. */
function machineBusyUs(): number | undefined {
  let firstLine: string | undefined;
  try {
    firstLine = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0];
  } catch {
    return undefined;
  }
  // cpu user nice system idle iowait irq softirq steal ...; steal is time the
  // hypervisor gave another machine, not work of this one's.
  const [, user, nice, system, , , irq, softirq] = (firstLine ?? '').trim().split(/\s+/).map(Number);
  const busy = [user, nice, system, irq, softirq];
  if (busy.some((ticks) => ticks === undefined || Number.isNaN(ticks))) return undefined;
  return busy.reduce<number>((total, ticks) => total + (ticks ?? 0), 0) * MICROSECONDS_PER_TICK;
}

/** Starts counting; the returned function divides what was spent since by the units done. */
export function startCpuSplit(): (units: number) => CpuPerUnit | undefined {
  const machineBefore = machineBusyUs();
  const processBefore = process.cpuUsage();
  return (units) => {
    const machineAfter = machineBusyUs();
    const spent = process.cpuUsage(processBefore);
    if (machineBefore === undefined || machineAfter === undefined || units <= 0) return undefined;
    const processUs = spent.user + spent.system;
    return {
      processUs: processUs / units,
      // The process's own time is counted in microseconds, the machine's in ticks: never below zero.
      restOfMachineUs: Math.max(0, machineAfter - machineBefore - processUs) / units,
    };
  };
}

const toTenths = (us: number) => Math.round(us * 10) / 10;

/** The mean of several rounds' figures, to a tenth of a microsecond, or undefined unless every round has one. */
export function meanCpu(rounds: readonly (CpuPerUnit | undefined)[]): CpuPerUnit | undefined {
  const known = rounds.filter((round): round is CpuPerUnit => round !== undefined);
  if (known.length === 0 || known.length !== rounds.length) return undefined;
  return {
    processUs: toTenths(known.reduce((total, round) => total + round.processUs, 0) / known.length),
    restOfMachineUs: toTenths(known.reduce((total, round) => total + round.restOfMachineUs, 0) / known.length),
  };
}
