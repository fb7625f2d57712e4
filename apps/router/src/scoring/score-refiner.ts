import type { FrSnapshotDto, ScoreReasonDto } from '@agency/contracts';
import type { CallContext } from '@agency/llm-client';

/** Nest token of the ScoreRefiner the ScoringService asks (the model one in production, a fake in tests). */
export const SCORE_REFINER = Symbol('SCORE_REFINER');

export interface RefineRequest {
  fr: FrSnapshotDto;
  /** The heuristic's score and its reasons, as scoreFr gave them. */
  heuristic: { score: number; reasons: ScoreReasonDto[] };
  /** The model alias agency.yaml names in `routing.refine_model`. */
  model: string;
  /** The most the model may move the score, either way (`routing.max_adjustment`). */
  maxAdjustment: number;
  /** FR, saga, step (and budget) of the call, so the gateway accounts its cost to the FR. */
  ctx: CallContext;
}

/**
 * Asks a model whether the heuristic misjudged an FR. The answer is one `model` reason whose
 * points are the adjustment (an integer within ±maxAdjustment). It never holds routing up: a
 * refinement that cannot be had (no gateway, a failed call, an unusable answer, a spent budget)
 * is a 0-point `model` reason that says why.
 */
export interface ScoreRefiner {
  refine(request: RefineRequest): Promise<ScoreReasonDto>;
}
