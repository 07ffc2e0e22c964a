"""Every session-state key in one place, so pages never disagree about names. The session holds ids only."""

DATASET_ID = "dataset_id"          # sha256 of the selected dataset
SPEC_ID = "spec_id"                # id of the selected saved spec
LAST_UPLOAD = "last_upload_key"    # (name, size, file_id) of the last upload handled, so reruns do not re-add it
FLASH = "flash_message"            # one-shot success message shown after a rerun
RUN_ID = "run_id"                  # run the Train page is attached to (mirrored in the URL query params)
RUN_QUERY_PARAM = "run"
TRAIN_OPENED = "train_opened"      # the Train page has drawn once in this session: no more following others' runs
UPLOAD_ERROR = "upload_error"      # (upload marker, message) of a failed upload, shown until the file is removed
PRIVACY_RUN = "privacy_run_id"    # run the Privacy page audits
AUDIT_JOB = "privacy_audit_job"   # background audit job the Privacy page is watching
REPORT_PRESENT = "report_present"  # Report page: presentation mode on/off
REPORT_CHART = "report_chart"      # Report page: which chart presentation mode shows
COMPARE_DATASET = "compare_dataset"  # Compare page: dataset whose runs are compared
AUTH_USER = "auth_user"            # (name, role) of the signed-in user; absent when nobody is signed in
AUTH_LAST_SEEN = "auth_last_seen"  # time.time() of the session's last script run, for the idle timeout
AUTH_NOTICE = "auth_notice"        # one-shot line for the sign-in form ("signed out after 60 idle minutes")
AUTH_GATE = "auth_gate"            # what the sign-in gate decided on this run (open, password, oidc, explain)
