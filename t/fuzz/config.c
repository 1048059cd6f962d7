/* config: a YAML configuration file as `openwit -c` reads it
 * (modules/core/config.c), with every module's directives registered as
 * openwit.c does, then every module's check, as `openwit -t` runs. */
#include "modules/auth/auth.h"
#include "modules/catalog/catalog.h"
#include "modules/control/control.h"
#include "modules/core/config.h"
#include "modules/core/module.h"
#include "modules/grpc/grpc.h"
#include "modules/http/http.h"
#include "modules/index/index.h"
#include "modules/ingest/ingest.h"
#include "modules/janitor/janitor.h"
#include "modules/kafka/kafka.h"
#include "modules/loki/loki.h"
#include "modules/prom/prom.h"
#include "modules/storage/storage.h"
#include "modules/tls/tls.h"
#include "modules/tracker/tracker.h"
#include "modules/traceapi/traceapi.h"
#include "modules/ui/ui.h"
#include "modules/wal/wal.h"
#include "t/fuzz/fuzz.h"

static ow_module_t *const modules[] = {
    &ow_auth_module,	&ow_tls_module,	    &ow_tracker_module,	 &ow_catalog_module,
    &ow_storage_module, &ow_janitor_module, &ow_index_module,	 &ow_wal_module,
    &ow_control_module, &ow_prom_module,    &ow_traceapi_module, &ow_loki_module,
    &ow_ui_module,	&ow_ingest_module,  &ow_grpc_module,	 &ow_http_module,
    &ow_kafka_module,
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	for (size_t i = 0; i < OW_NELEMS(modules); i++)
		if (modules[i]->directives)
			ow_conf_register(modules[i]->directives);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[1024] = "";
	if (ow_conf_load_text("fuzz.yaml", data, size, err, sizeof(err)) != OW_OK) {
		OW_FUZZ_CHECK(strncmp(err, "fuzz.yaml:", 10) == 0);
		return 0;
	}
	for (size_t i = 0; i < OW_NELEMS(modules); i++)
		if (modules[i]->check)
			modules[i]->check(err, sizeof(err));
	return 0;
}
