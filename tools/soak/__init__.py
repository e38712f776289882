"""`make soak` (python -m tools.soak): bookings through `handler.queue` while the Tencent API and SNS fail.

sqs.py is SQS as `handler.queue` meets it (batches, redelivery of the listed failures, the DLQ);
workload.py makes the bookings; verdict.py checks that each ended in one task and one result or in the
DLQ; kill.py ends an invocation mid-batch as a Lambda timeout does; env.py is the function's environment
for a soak; __main__.py runs it all in rounds and prints the summary.
"""
