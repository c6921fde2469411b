/** A versioned schema change: statements run in one transaction, once per database. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly statements: readonly string[];
}
