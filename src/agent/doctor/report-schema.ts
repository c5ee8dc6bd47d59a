/**
 * The shape of `backhaul doctor --json`, as a zod schema: the contract for scripts and fleet
 * tooling (docs/doctor.md). `doctorReportJsonSchema()` gives the same as JSON Schema for tools
 * outside TypeScript. test/agent/doctor validates real output against it.
 */
import { z } from 'zod';

export const CheckStatusSchema = z.enum(['pass', 'warn', 'fail', 'skip']);

export const CheckReportSchema = z.strictObject({
  id: z.string().regex(/^[a-z]+\.[a-z0-9-]+$/),
  title: z.string().min(1),
  group: z.enum(['host', 'vpn', 'network', 'repository']),
  status: CheckStatusSchema,
  evidence: z.string().min(1),
  fix: z.string().min(1).optional(),
});

export const TargetReportSchema = z.strictObject({
  subject: z.string().min(1),
  job: z.string().optional(),
  profile: z.string().optional(),
  checks: z.array(CheckReportSchema),
});

export const DoctorReportSchema = z.strictObject({
  schemaVersion: z.literal(1),
  generatedAt: z.iso.datetime(),
  reports: z.array(TargetReportSchema).min(1),
  summary: z.strictObject({ pass: z.number().int().min(0), warn: z.number().int().min(0), fail: z.number().int().min(0), skip: z.number().int().min(0) }),
});

/** The JSON Schema (draft 2020-12) of the report. */
export function doctorReportJsonSchema(): unknown {
  return z.toJSONSchema(DoctorReportSchema);
}
