// lib/train (eg.train): the EchoGen recipe (PMTP -> DJO -> Cycle RL with GRPO), its loop and
// checkpoints, and the measures the trainer and the CLI report.
export { pmtpStep as pmtp, taskSequence, i2lPart, combine, DEFAULT_MIX } from './pmtp';
export type { PmtpOptions, StepResult } from './pmtp';
export { djoStep as djo } from './djo';
export type { DjoOptions } from './djo';
export { rollout, cycleRlStep as cycleRl, codeLogProbs, rlLayouts } from './cycle-rl';
export type { CycleRlOptions, Rollout } from './cycle-rl';
export { grpoLoss, grpoObjective } from './grpo';
export type { GrpoOptions, GrpoStats, GrpoInputs } from './grpo';
export { scheduleValue, parseSchedule, learningRate, parseTaskMix, pickTask } from './schedule';
export type { ScheduleSpec, ScheduleKind, TaskMix, Task } from './schedule';
export { saveCheckpoint, latestCheckpoint, writeFileAtomic } from './checkpoint';
export { train, defaultConfig, copyModel, saveModelAtomic, curriculumObjects, STAGES, FINAL_DIR } from './trainer';
export type { TrainConfig, TrainState, TrainHooks, TrainRunOptions, StepLog, StageName, CurriculumStep } from './trainer';
export { curveLayouts, curvePoint, tokenizerCeiling, CURVE_SEED } from './curve';
export type { CurveOptions, CurvePoint } from './curve';
export { createOptimizer } from './optimizer';
export type { Optimizer } from './optimizer';
export { trainExamples, fitTokenizer, renderBatch, encodeLayouts } from './data';
export type { Example } from './data';
export { evalL2i, evalGround, evalRealL2i } from './evaluate';
export type { L2iMetrics, L2iEvalResult, GroundMetrics, EvalOptions } from './evaluate';
export { TrainRng } from './rng';
export { GligenAdapter, gligenStep as gligen, gligenGenerate, fourierBox, captionOnly, freeze } from './gligen';
export { ContrastiveHead, evogenStep as evogen, evogenPairs } from './evogen';
export type { EvogenOptions } from './evogen';
