#include <stdio.h>
#include "model.h"
#include "testutil.h"
int main(void)
{
	struct model *m = NULL;
	struct rb_err err = {0};
	char ini[4096];
	snprintf(ini, sizeof ini, "%s", tu_shared("upstream/traffic.ini"));
	enum rb_code rc = model_load_files(&m, tu_shared("upstream/traffic.keras"), ini, "traffic", &err);
	CHECKF(rc == RB_OK, "%s", err.msg);
	model_free(m);
	return 0;
}
