t/kafka/mock: t/kafka/mock.c
