"""Alarms (to the notifications topic) and a small dashboard."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

PERIOD = Duration.minutes(5)


class Monitoring(Construct):
    """Alarms on failed / timed-out / aborted executions, dead-letter messages and function errors."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        state_machine: sfn.StateMachine,
        dead_letter_queue: sqs.IQueue,
        functions: Sequence[lambda_.Function],
        topic: sns.ITopic,
        dlq_threshold: int,
    ) -> None:
        super().__init__(scope, id_)
        action = cw_actions.SnsAction(topic)
        self.alarms: list[cloudwatch.Alarm] = []

        def alarm(
            name: str, metric: cloudwatch.IMetric, description: str, threshold: float = 1
        ) -> cloudwatch.Alarm:
            created = cloudwatch.Alarm(
                self,
                name,
                metric=metric,
                threshold=threshold,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                alarm_description=description,
            )
            created.add_alarm_action(action)
            self.alarms.append(created)
            return created

        alarm(
            "ExecutionsFailed",
            state_machine.metric_failed(period=PERIOD, statistic="Sum"),
            "An import tracker ended in Fail: the import did not complete, or Finalize could not notify",
        )
        alarm(
            "ExecutionsTimedOut",
            state_machine.metric_timed_out(period=PERIOD, statistic="Sum"),
            "An import tracker hit the state machine timeout (the second deadline bound)",
        )
        alarm(
            "ExecutionsAborted",
            state_machine.metric_aborted(period=PERIOD, statistic="Sum"),
            "An import tracker was stopped by hand: its import may still run unnoticed",
        )
        alarm(
            "DeadLetters",
            dead_letter_queue.metric_approximate_number_of_messages_visible(
                period=PERIOD, statistic="Maximum"
            ),
            "Events could not be delivered to start_import or the reconciler: redrive them from the queue",
            threshold=dlq_threshold,
        )
        for fn in functions:
            alarm(
                f"{fn.node.id}Errors",
                fn.metric_errors(period=PERIOD, statistic="Sum"),
                f"{fn.node.id} raised errors (see its log group)",
            )

        self.dashboard = cloudwatch.Dashboard(self, "Dashboard", default_interval=Duration.days(1))
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Import trackers",
                left=[
                    state_machine.metric_started(period=PERIOD, statistic="Sum"),
                    state_machine.metric_succeeded(period=PERIOD, statistic="Sum"),
                    state_machine.metric_failed(period=PERIOD, statistic="Sum"),
                    state_machine.metric_timed_out(period=PERIOD, statistic="Sum"),
                ],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Dead letters",
                left=[dead_letter_queue.metric_approximate_number_of_messages_visible(period=PERIOD)],
                width=12,
            ),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Function errors",
                left=[fn.metric_errors(period=PERIOD, statistic="Sum") for fn in functions],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Function duration (p99)",
                left=[fn.metric_duration(period=PERIOD, statistic="p99") for fn in functions],
                width=12,
            ),
            cloudwatch.AlarmStatusWidget(title="Alarms", alarms=self.alarms, width=24),
        )
