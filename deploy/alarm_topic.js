// Resolved by serverless.yml (custom.monitoring.actions): what the alarms notify. The topic the template
// creates (AlarmTopic, which param alarmEmail subscribes to), and the existing topic of param alarmTopicArn
// when one is given. Chosen when packaging: the template holds no empty ARN (cfn-lint refuses one, even on
// the unused side of an Fn::If).
'use strict';

const SNS_TOPIC_ARN = /^arn:aws[a-zA-Z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/;

module.exports = async ({ resolveVariable }) => {
  const arn = String((await resolveVariable("param:alarmTopicArn, ''")) ?? '').trim();
  if (arn && !SNS_TOPIC_ARN.test(arn)) {
    const error = new Error(`faceid-fn: param alarmTopicArn must be an SNS topic's ARN, not "${arn}"`);
    error.stack = ''; // a message for a person, not a bug (osls prints a thrown error's stack)
    throw error;
  }
  return arn ? [{ Ref: 'AlarmTopic' }, arn] : [{ Ref: 'AlarmTopic' }];
};
