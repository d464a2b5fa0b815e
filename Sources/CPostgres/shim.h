// libpq, used only by KymaCatalogPostgres.
#include <libpq-fe.h>
