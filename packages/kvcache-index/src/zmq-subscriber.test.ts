import { describe, expect, it } from 'vitest';
import { parseZmqEndpoint } from './zmq-subscriber.js';

describe('parseZmqEndpoint', () => {
  it('reads connect, bind and replay forms', () => {
    expect(parseZmqEndpoint('tcp://10.0.0.7:5557')).toEqual({ endpoint: 'tcp://10.0.0.7:5557' });
    expect(parseZmqEndpoint('tcp://*:5557')).toEqual({ endpoint: 'tcp://*:5557', bind: true });
    expect(parseZmqEndpoint('tcp://10.0.0.7:5557?replay=tcp://10.0.0.7:5558')).toEqual({
      endpoint: 'tcp://10.0.0.7:5557',
      replayEndpoint: 'tcp://10.0.0.7:5558',
    });
    expect(parseZmqEndpoint('ipc:///tmp/kv.sock?bind=true')).toEqual({
      endpoint: 'ipc:///tmp/kv.sock',
      bind: true,
    });
    expect(parseZmqEndpoint({ endpoint: 'tcp://h:1', bind: true })).toEqual({
      endpoint: 'tcp://h:1',
      bind: true,
    });
  });
  it('says what is wrong', () => {
    expect(() => parseZmqEndpoint('10.0.0.7:5557')).toThrow(/tcp:\/\/host:port/);
    expect(() => parseZmqEndpoint('tcp://h:1?foo=1')).toThrow(/Unknown option "foo"/);
    expect(() => parseZmqEndpoint('tcp://h:1?replay=h:2')).toThrow(/replay endpoint/);
  });
});
