// librdkafka, used only by KymaKafka.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
