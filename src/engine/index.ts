export { step, silentSink, RecordingSink } from "./events.js";
export type { Event, EventSink, EventStatus } from "./events.js";
export { planFor, changesOf, isChange } from "./plan.js";
export type { Plan, PlanItem, Action } from "./plan.js";
export { checkPorts, pullImages, applyItem, waitReady } from "./converge.js";
export { portFree, portHolder, portState, airplayNote } from "./ports.js";
export type { PortState } from "./ports.js";
