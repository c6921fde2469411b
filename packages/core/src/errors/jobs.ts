import { defineErrors } from './spec.js';

/** Errors of the jobs area: durable jobs, their journal and their leases. */
export const jobsErrors = defineErrors('jobs', {
  JOB_TYPE_UNKNOWN: {
    status: 400,
    retryable: false,
    message: 'No job type {type} is registered',
    recovery:
      'Use one of the job types this server registers; this is a programming error if it comes from the server itself.',
  },
  JOB_DEFINITION_INVALID: {
    status: 500,
    retryable: false,
    message: 'Job definition {type} is invalid: {reason}',
    recovery:
      'Fix the job definition: a non-empty unique type, at least one step, unique non-empty step names.',
  },
  JOB_LEASE_LOST: {
    status: 409,
    retryable: true,
    message: 'Server {owner} no longer holds job {jobId} (epoch {epoch}): its write was fenced',
    recovery: 'Nothing to do: another server took the job over and resumes it from its journal.',
  },
  JOB_INTERRUPTED: {
    status: 500,
    retryable: true,
    message: 'Job {jobId} was interrupted in step {step} and its completed steps were compensated',
    recovery: 'The operation was rolled back; submit it again.',
  },
  JOB_COMPENSATION_FAILED: {
    status: 500,
    retryable: false,
    message: 'Job {jobId} could not undo step {step}: {reason}',
    recovery:
      'Inspect the job journal (GET the job steps); the orphan collector or an operator must clean up what the step left.',
  },
  JOB_CANCELLED: {
    status: 409,
    retryable: false,
    message: 'Job {jobId} was cancelled',
    recovery:
      'A job cancelled while queued ran nothing; one cancelled while running undid its completed steps (its journal shows them). Submit the operation again if it is still wanted.',
  },
  JOB_ENGINE_STOPPED: {
    status: 503,
    retryable: true,
    message: 'The job engine of server {serverId} is stopping',
    recovery: 'Retry: another server (or this one after restart) runs the job.',
  },
});
