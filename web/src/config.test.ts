import { describe, expect, it } from 'vitest';
import { ConfigError, DEFAULT_BASEMAPS, resolveConfig, resolveDownloadUrl } from './config';

describe('resolveConfig', () => {
  it('resolves a relative API address against the page (the embedded default)', () => {
    const config = resolveConfig({ graphqlUrl: '/graphql' }, 'http://127.0.0.1:8000/jobs/abc');
    expect(config.graphqlUrl).toBe('http://127.0.0.1:8000/graphql');
    expect(config.websocketUrl).toBe('ws://127.0.0.1:8000/graphql');
    expect(config.basemaps).toEqual(DEFAULT_BASEMAPS);
  });

  it('keeps an absolute API on another origin and uses wss for https (the CDN setup)', () => {
    const config = resolveConfig({ graphqlUrl: 'https://api.example.com/graphql' }, 'https://console.example.com/');
    expect(config.graphqlUrl).toBe('https://api.example.com/graphql');
    expect(config.websocketUrl).toBe('wss://api.example.com/graphql');
  });

  it('says what is wrong with a bad file', () => {
    expect(() => resolveConfig([], 'http://x/')).toThrow(ConfigError);
    expect(() => resolveConfig({ graphqlUrl: 'ftp://x/graphql' }, 'http://x/')).toThrow(/http\(s\)/);
    expect(() => resolveConfig({ basemaps: [{ id: 'a', label: 'A', tiles: ['http://insecure/{z}'] }] }, 'http://x/'))
      .toThrow(/basemaps\[0\]\.tiles/);
  });

  it('turns signed download paths into URLs on the API', () => {
    expect(resolveDownloadUrl('/files/abc?sig=1', 'https://api.example.com/graphql')).toBe('https://api.example.com/files/abc?sig=1');
    expect(resolveDownloadUrl('https://bucket.s3/x', 'https://api.example.com/graphql')).toBe('https://bucket.s3/x');
  });
});
