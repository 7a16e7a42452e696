/*
 * api_ltdrs.h - the handlers of the LTDRS JSON API (/ltdrs/api/v1/...),
 * listed in api.c's route table.  The endpoint table is at the top of
 * api_ltdrs.c and in docs/api.md.
 */
#ifndef LTD_API_LTDRS_H
#define LTD_API_LTDRS_H

#include "http.h"

/* Each is an http_handler_fn; app is the struct api. */
void api_ltdrs_chain_get(void *app, struct http_req *req, struct http_resp *resp);
void api_ltdrs_student_get(void *app, struct http_req *req, struct http_resp *resp);
void api_ltdrs_students_get(void *app, struct http_req *req, struct http_resp *resp);
void api_ltdrs_student_keys_post(void *app, struct http_req *req, struct http_resp *resp);
void api_ltdrs_ticket_get(void *app, struct http_req *req, struct http_resp *resp);
void api_ltdrs_activities_get(void *app, struct http_req *req, struct http_resp *resp);
void api_ltdrs_activity_get(void *app, struct http_req *req, struct http_resp *resp);
void api_ltdrs_activity_outputs_get(void *app, struct http_req *req, struct http_resp *resp);
void api_ltdrs_applications_get(void *app, struct http_req *req, struct http_resp *resp);
void api_ltdrs_departments_get(void *app, struct http_req *req, struct http_resp *resp);
void api_ltdrs_department_stats_get(void *app, struct http_req *req, struct http_resp *resp);
void api_ltdrs_stats_departments_get(void *app, struct http_req *req, struct http_resp *resp);
void api_ltdrs_stats_histogram_get(void *app, struct http_req *req, struct http_resp *resp);
void api_ltdrs_roster_get(void *app, struct http_req *req, struct http_resp *resp);
void api_ltdrs_distributions_get(void *app, struct http_req *req, struct http_resp *resp);
void api_ltdrs_announcements_get(void *app, struct http_req *req, struct http_resp *resp);
void api_ltdrs_role_get(void *app, struct http_req *req, struct http_resp *resp);
void api_ltdrs_challenge_post(void *app, struct http_req *req, struct http_resp *resp);
void api_ltdrs_login_post(void *app, struct http_req *req, struct http_resp *resp);
void api_ltdrs_logout_post(void *app, struct http_req *req, struct http_resp *resp);
void api_ltdrs_session_get(void *app, struct http_req *req, struct http_resp *resp);

#endif
