import pMap from 'p-map';
import { SitesFailedError } from '../shared/errors.js';
import type { StepReport } from './context.js';

/**
 * How many sites the hook works on at once. A site's steps are network
 * round trips to AWS and MySQL and must stay in order, but sites share
 * nothing (own item, secrets, database, user, prefix), so a fleet's new
 * sites are provisioned side by side; eight keeps well inside the API rate
 * limits and a MySQL server's connection limit.
 */
export const DEFAULT_SITE_CONCURRENCY = 8;

export interface EachSiteOptions {
  /** @default DEFAULT_SITE_CONCURRENCY */
  readonly concurrency?: number;
  /** Called as each site finishes, with the reports of its steps (progress lines). */
  readonly onSite?: (id: string, reports: readonly StepReport[], done: number) => void;
}

/**
 * Runs `run` for every site, `concurrency` at a time. A failing site does
 * not stop the others: a re-run then has only the failed ones left to do.
 * One failure is rethrown as it is (its class gives the exit status); several
 * become one SitesFailedError naming every site.
 */
export async function eachSite<T extends { readonly id: string } | string>(
  items: readonly T[],
  run: (item: T) => Promise<readonly StepReport[]>,
  options: EachSiteOptions = {},
): Promise<StepReport[]> {
  const reports: StepReport[][] = [];
  const failures: { index: number; id: string; error: unknown }[] = [];
  let done = 0;
  await pMap(
    items.entries(),
    async ([index, item]) => {
      const id = typeof item === 'string' ? item : item.id;
      try {
        const own = await run(item);
        reports[index] = [...own];
        options.onSite?.(id, own, ++done);
      } catch (error) {
        failures.push({ index, id, error });
      }
    },
    { concurrency: options.concurrency ?? DEFAULT_SITE_CONCURRENCY },
  );
  if (failures.length === 1) throw failures[0]!.error;
  failures.sort((a, b) => a.index - b.index);
  if (failures.length > 1) throw new SitesFailedError(failures.map(({ id, error }) => ({ id, error })), items.length);
  return reports.flat();
}
